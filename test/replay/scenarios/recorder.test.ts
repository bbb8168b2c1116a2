// The recorder's one rule: a history on disk is never replaced unless OVERWRITE names it.
import { readdir } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { HISTORIES, saveHistory } from './recorder';

it('refuses to overwrite a recorded history that OVERWRITE does not name', async () => {
  const [existing] = (await readdir(HISTORIES)).filter((file) => file.endsWith('.json'));
  expect(existing).toBeDefined();
  const name = existing!.replace(/\.json$/, '');
  let fetched = false;
  const handle = {
    fetchHistory: async () => {
      fetched = true;
      return { events: [] };
    },
  };
  await expect(saveHistory(name, handle as never)).rejects.toThrow(`name it in OVERWRITE=${name}`);
  expect(fetched).toBe(false);
});
