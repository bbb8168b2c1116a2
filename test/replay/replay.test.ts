// Every workflow change must replay the recorded histories: a change that would break running
// workflows fails here, before it ships.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { testDataConverter } from '../support/data-converter';

const HISTORIES = new URL('./histories/', import.meta.url);

async function loadHistories() {
  const files = (await readdir(HISTORIES)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(await readFile(new URL(file, HISTORIES), 'utf8'))) })),
  );
}

const workflowType = (history: ReturnType<typeof historyFromJSON>) =>
  history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

async function replayAll(workflowBundle: { codePath: string } | { code: string }, onlyType?: string) {
  const histories = (await loadHistories()).filter(({ history }) => !onlyType || workflowType(history) === onlyType);
  const results = [];
  // With the codec, as workers run: encrypted histories decode, and those recorded before it pass through.
  for await (const result of Worker.runReplayHistories({ workflowBundle, dataConverter: testDataConverter }, histories)) results.push(result);
  return results;
}

describe('replay of recorded histories', () => {
  it('has histories to replay', async () => {
    expect((await loadHistories()).length).toBeGreaterThanOrEqual(3);
  });

  it('replays every recorded history with the current workflow code', async () => {
    const results = await replayAll({ codePath: inject('workflowBundlePath') });
    for (const result of results) expect(result.error, `${result.workflowId}: ${result.error?.message}`).toBeUndefined();
  });

  it('fails on a deliberately non-deterministic change', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./nondeterministic/index.ts', import.meta.url)),
      logger: new DefaultLogger('WARN'),
    });
    // The altered bundle holds only the payment workflow: every payment history must refuse it.
    const results = await replayAll({ code }, 'paymentWorkflow');
    expect(results.length).toBeGreaterThanOrEqual(7);
    for (const result of results) expect(result.error?.name, result.workflowId).toBe('DeterminismViolationError');
  });
});
