// Records the Channex path of the listing sync (the table in test/replay/README.md): one sync per
// Channex property, whose window gathers the edits of three units into one push, then a second window
// with one unit — through the whole stack and the Channex sandbox.
//   RECORD_HISTORIES=listing-sync-channex-property npx vitest run test/replay/scenarios/channex.test.ts
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startStack, type Stack } from '../../support/stack';
import { eventually } from '../../support/harness';
import { createChannexProperty } from '../../support/channex';
import { propertySyncWorkflowId } from '../../../domain/workflow-ids';
import { listingSyncStateQuery } from '../../../workflows/bookings/messages';
import { recording, saveHistory, wanted } from './recorder';

async function recordOnly(context: TestContext, name: string) {
  if (!(await wanted(name))) context.skip(`kept: ${name}`);
}

describe.runIf(recording)('record the Channex property sync', () => {
  let stack: Stack;
  let connection: Connection;
  let temporal: Client;
  beforeAll(async () => {
    stack = await startStack({ env: { CHANNEX_POLL_INTERVAL_MS: '120000', CHANNEL_SYNC_QUIET_MS: '2000', CHANNEL_SYNC_MAX_DELAY_MS: '10000' } });
    connection = await Connection.connect({ address: stack.temporalAddress });
    temporal = new Client({ connection, dataConverter: stack.dataConverter });
  });
  afterAll(async () => {
    await connection?.close();
    await stack?.close();
  });

  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const response = await stack.http(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
    return response.body;
  };

  it('a property sync: three units in one push, then one', async (context) => {
    await recordOnly(context, 'listing-sync-channex-property');
    const channex = await createChannexProperty(stack.sandboxUrl, { title: 'Replay property', rooms: 3 });
    const property = await ok('POST', '/properties', { name: `Replay Channex ${Date.now()}`, currency: 'SEK' }, 201);
    const unitIds: string[] = [];
    for (const [index, room] of channex.rooms.entries()) {
      const unit = await ok('POST', `/properties/${property.id}/units`, { name: `Replay cabin ${index}`, count: 1 }, 201);
      await ok('POST', `/units/${unit.id}/mappings`, { channel: 'channex', externalAccountId: channex.propertyId, externalListingId: room.roomTypeId, externalRateId: room.ratePlanId }, 201);
      unitIds.push(unit.id);
    }
    const handle = temporal.workflow.getHandle(propertySyncWorkflowId('channex', channex.propertyId));
    const pushed = (count: number) =>
      eventually(async () => {
        const state = await handle.query(listingSyncStateQuery);
        return state.pushes >= count && state.status === 'idle';
      }, { timeoutMs: 60_000, what: `push ${count} of the property` });

    await Promise.all(unitIds.map((unitId) => ok('PUT', `/units/${unitId}/calendar`, { ranges: [{ from: '2030-05-01', to: '2030-05-03', available: 1, price: { value: 70_000, currency: 'SEK' } }] })));
    await pushed(1);
    await ok('PUT', `/units/${unitIds[1]}/calendar`, { ranges: [{ from: '2030-05-02', to: '2030-05-02', available: 0 }] });
    await pushed(2);
    const state = await handle.query(listingSyncStateQuery);
    expect(state).toMatchObject({ account: channex.propertyId, pushes: 2, pendingUnits: {} });
    // The sync runs on: its history so far is recorded as it stands.
    await saveHistory('listing-sync-channex-property', handle);
  });
});
