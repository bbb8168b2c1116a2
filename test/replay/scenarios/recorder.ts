// Where every recorded history is written, and the rule that keeps them: a recording ADDS a history;
// one already on disk is kept unless it is named in OVERWRITE. A history is what running workflows
// were built from, so silently re-recording it would erase exactly what the replay test protects.
//
//   RECORD_HISTORIES=1                  record every scenario whose history is missing
//   RECORD_HISTORIES=name1,name2        record only these (missing ones, or those in OVERWRITE)
//   OVERWRITE=name1                     allow these names to be replaced
import { access, writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';

export const HISTORIES = new URL('../histories/', import.meta.url);

const names = (value: string | undefined) =>
  new Set(
    (value ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );

/** Whether this run records at all (the recorders' describe blocks run only then). */
export const recording = Boolean(process.env.RECORD_HISTORIES);

const selected = names(process.env.RECORD_HISTORIES);
const everything = selected.size === 1 && (selected.has('1') || selected.has('all') || selected.has('true'));
const overwrite = names(process.env.OVERWRITE);

const exists = (name: string) =>
  access(new URL(`${name}.json`, HISTORIES)).then(
    () => true,
    () => false,
  );

/**
 * Whether the scenario for `name` should run: asked for (or everything is), and either missing on
 * disk or named in OVERWRITE. Scenarios check this first, so a full run does not redo the old ones.
 */
export async function wanted(name: string): Promise<boolean> {
  if (!recording) return false;
  if (!everything && !selected.has(name)) return false;
  return !(await exists(name)) || overwrite.has(name);
}

/** Writes the history under `name`, refusing to replace one on disk that OVERWRITE does not name. */
export async function saveHistory(name: string, handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<void> {
  if ((await exists(name)) && !overwrite.has(name)) {
    throw new Error(`test/replay/histories/${name}.json exists; name it in OVERWRITE=${name} to replace it`);
  }
  // The same proto3 JSON `temporal workflow show --output json` writes.
  await writeFile(new URL(`${name}.json`, HISTORIES), historyToJSON(await handle.fetchHistory()));
}
