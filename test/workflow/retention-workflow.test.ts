// The daily retention Schedule starts the prune workflow, whose one activity deletes what is past the
// retention period: triggered here as the Schedule would fire at night, against the run's real
// Temporal and Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createDatabase } from '../../db/client';
import { webhookInbox } from '../../db/schema';
import { createWebhookInbox } from '../../store/webhook-inbox';
import { createChannelMessageStore } from '../../store/channel-messages';
import { createRetentionActivities } from '../../activities/retention';
import { ensureRetentionSchedule } from '../../client/retention';
import type { retentionPruneWorkflow } from '../../workflows/retention/prune';
import { RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID } from '../../domain/workflow-ids';
import { eventually } from '../support/harness';
import { testDataConverter } from '../support/data-converter';

const taskQueue = `test-${randomUUID()}`;
const database = createDatabase(inject('databaseUrl'));
let nativeConnection: NativeConnection;
let connection: Connection;
let temporal: Client;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter: testDataConverter,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createRetentionActivities({ inbox: createWebhookInbox(database.db), channelMessages: createChannelMessageStore(database.db) }),
  });
  running = worker.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, namespace: 'default', dataConverter: testDataConverter });
});

afterAll(async () => {
  await temporal?.schedule.getHandle(RETENTION_SCHEDULE_ID).delete().catch(() => undefined);
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await database.close();
});

const DAY_MS = 24 * 60 * 60 * 1000;

describe('retention schedule', () => {
  it('starts the prune workflow, which deletes settled rows past the period and leaves undelivered ones', async () => {
    const provider = `retention-${randomUUID()}`;
    const old = new Date(Date.now() - 40 * DAY_MS);
    await database.db.insert(webhookInbox).values(
      (['delivered', 'pending', 'failed'] as const).map((status) => ({
        provider,
        eventId: status,
        eventType: 'payment_intent.succeeded',
        delivery: { delivery: 'observation' },
        payload: { id: status },
        status,
        receivedAt: old,
        nextAttemptAt: old,
        deliveredAt: status === 'delivered' ? old : null,
      })),
    );

    expect(await ensureRetentionSchedule(temporal, { taskQueue, retentionDays: 30 })).toMatch(/created|updated/);
    const schedule = temporal.schedule.getHandle(RETENTION_SCHEDULE_ID);
    const described = await schedule.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retentionPruneWorkflow', taskQueue, args: [{ retentionDays: 30 }] });

    await schedule.trigger();
    const runs = await eventually(
      async () => {
        const { info } = await schedule.describe();
        return info.recentActions.length > 0 && info.recentActions;
      },
      { what: 'the schedule to start the prune' },
    );
    const started = runs.at(-1)!.action.workflow;
    expect(started.workflowId.startsWith(RETENTION_WORKFLOW_ID)).toBe(true);
    const result = await temporal.workflow.getHandle<typeof retentionPruneWorkflow>(started.workflowId, started.firstExecutionRunId).result();
    expect(result.webhookInboxRows).toBeGreaterThanOrEqual(1);

    const left = await database.db.select({ eventId: webhookInbox.eventId }).from(webhookInbox).where(eq(webhookInbox.provider, provider));
    expect(left.map((row) => row.eventId).sort()).toEqual(['failed', 'pending']);
  });
});
