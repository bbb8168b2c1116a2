// F9: a deliberately non-deterministic change to every workflow type fails the replay of every
// recorded history, and every workflow type has at least one history to fail.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { testDataConverter } from '../support/data-converter';
import * as registered from '../../workflows';
import * as altered from '../replay/nondeterministic';

const HISTORIES = new URL('../replay/histories/', import.meta.url);

it('F9: every recorded history of every workflow type fails to replay against a non-deterministic change', async () => {
  const startedAt = Date.now();
  const files = (await readdir(HISTORIES)).filter((file) => file.endsWith('.json'));
  const histories = await Promise.all(
    files.map(async (file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(await readFile(new URL(file, HISTORIES), 'utf8'))) })),
  );
  const typeOf = new Map(histories.map(({ workflowId, history }) => [workflowId, history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?']));
  // The altered bundle changes every type the worker registers, and each has a history to refuse it.
  const types = Object.keys(registered).sort();
  expect(Object.keys(altered).sort()).toEqual(types);
  const recordedTypes = new Set(typeOf.values());
  expect(types.filter((type) => !recordedTypes.has(type)), 'workflow types without a recorded history').toEqual([]);

  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../replay/nondeterministic/index.ts', import.meta.url)),
    logger: new DefaultLogger('ERROR'),
  });
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code }, dataConverter: testDataConverter }, histories)) {
    if (result.error?.name === 'DeterminismViolationError') failures.push(result.workflowId);
  }
  const perType = Object.fromEntries(types.map((type) => [type, `${failures.filter((file) => typeOf.get(file) === type).length}/${files.filter((file) => typeOf.get(file) === type).length}`]));
  console.log(`[F9] ${failures.length}/${histories.length} histories refused the change ${JSON.stringify(perType)}; ${(Date.now() - startedAt) / 1000} s`);
  expect(histories.length).toBeGreaterThan(0);
  expect(failures.sort()).toEqual(files.sort());
});
