// The sandboxes remember, as the providers they stand for do: each sandbox's state is a JSON snapshot
// in the data directory (`.data/sandboxes/<name>.json` under `npm start`), loaded when the sandbox is
// built and written again whenever it changes. Without it, a restart of `npm start` forgets every
// earlier payment and the next reconciliation reports each one `missing_at_provider`.
//
// Change is detected by comparing the serialized snapshot, every `intervalMs` for a small state and
// less often for a large one (CHECK_BACKOFF_FACTOR; a SIGKILL loses that long at most): state moves
// on through API calls, control routes and timers alike (an expiry, a refund step), and one check
// sees them all. A write goes to a temporary file that is then renamed over the old one, so a crash
// mid-write leaves the previous snapshot, never half of one. Timers (expiries, refund settlement) are
// not part of a snapshot: a sandbox whose restore knows them arms them again (Stripe, PayPal and
// MobilePay do, from the objects' own state); the others' unfinished payments wait for the next call
// that moves them, as after an outage.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One sandbox's state as data: what to write, and how to take it back. */
export interface PersistentState {
  snapshot(): unknown;
  restore(state: unknown): void;
}

export interface SandboxPersistenceOptions {
  /** Where the snapshots live, one `<name>.json` per sandbox. */
  dir: string;
  /** The longest a change waits before it is written (default 250 ms). */
  intervalMs?: number;
}

interface Entry {
  state: PersistentState;
  path: string;
  written: string;
  /** performance.now() before which the timer does not look at this sandbox again. */
  nextCheckAt: number;
}

/**
 * A look at a sandbox costs a serialization of its whole state; the next one waits this many times
 * as long, so a large state (B4's and the reconciliation tests' tens of thousands of Stripe objects,
 * where one look took a good part of the 250 ms interval) keeps the event loop it shares with the
 * sandbox's routes — and in tests with the API — mostly free. A small state is still looked at every
 * interval.
 */
const CHECK_BACKOFF_FACTOR = 20;

export class SandboxPersistence {
  readonly dir: string;
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: SandboxPersistenceOptions) {
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true });
    this.#timer = setInterval(() => this.flush({ dueOnly: true }), options.intervalMs ?? 250);
    this.#timer.unref();
  }

  /** Restores `name` from its snapshot, if there is one, and keeps writing it as it changes. */
  attach(name: string, state: PersistentState): void {
    const path = join(this.dir, `${name}.json`);
    let written = '';
    try {
      written = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (written) {
      try {
        state.restore(JSON.parse(written));
      } catch (err) {
        throw new Error(`sandbox ${name}: cannot restore ${path} (${(err as Error).message}); move it away to start from nothing`, { cause: err });
      }
    }
    this.#entries.set(name, { state, path, written, nextCheckAt: 0 });
  }

  /** Writes every snapshot that changed since it was last written (the timer: only those due a look). */
  flush(options: { dueOnly?: boolean } = {}): void {
    for (const entry of this.#entries.values()) {
      const startedAt = performance.now();
      if (options.dueOnly && startedAt < entry.nextCheckAt) continue;
      const text = JSON.stringify(entry.state.snapshot());
      entry.nextCheckAt = performance.now() + (performance.now() - startedAt) * CHECK_BACKOFF_FACTOR;
      if (text === entry.written) continue;
      const temporary = `${entry.path}.${process.pid}.tmp`;
      writeFileSync(temporary, text);
      renameSync(temporary, entry.path);
      entry.written = text;
    }
  }

  /** Writes what is left and stops watching. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

/** A Map as JSON entries, and back. */
export const mapEntries = <V>(map: Map<string, V>): [string, V][] => [...map.entries()];

export function refill<V>(map: Map<string, V>, entries: unknown): void {
  map.clear();
  if (!Array.isArray(entries)) return;
  for (const entry of entries as [string, V][]) map.set(entry[0], entry[1]);
}
