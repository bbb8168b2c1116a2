// F9: a deliberately non-deterministic workflow change fails the replay of recorded histories.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { testDataConverter } from '../support/data-converter';

const HISTORIES = new URL('../replay/histories/', import.meta.url);

it('F9: every recorded history fails to replay against a non-deterministic change', async () => {
  const files = (await readdir(HISTORIES)).filter((file) => file.endsWith('.json'));
  const histories = await Promise.all(
    files.map(async (file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(await readFile(new URL(file, HISTORIES), 'utf8'))) })),
  );
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../replay/nondeterministic/index.ts', import.meta.url)),
    logger: new DefaultLogger('ERROR'),
  });
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code }, dataConverter: testDataConverter }, histories)) {
    if (result.error?.name === 'DeterminismViolationError') failures.push(result.workflowId);
  }
  console.log(`[F9] ${failures.length}/${histories.length} histories refused the non-deterministic change`);
  expect(histories.length).toBeGreaterThan(0);
  expect(failures.sort()).toEqual(files.sort());
});
