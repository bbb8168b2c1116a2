// What the CLI prints: tables for a person, JSON for a script, progress only on a terminal.
import Table from 'cli-table3';
import { InvalidArgumentError } from 'commander';
import type { GlobalOptions } from './http';

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// No rule between rows: compact enough to read a few hundred inbox rows.
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

export function table(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  const heads = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const out = new Table({ head: heads, chars: COMPACT, style: { head: [], border: [] }, wordWrap: true });
  for (const row of rows) out.push(heads.map((head) => cell(row[head])));
  return out.toString();
}

export function keyValues(record: Record<string, unknown>): string {
  const out = new Table({ chars: COMPACT, style: { head: [], border: [] }, wordWrap: true });
  for (const [key, value] of Object.entries(record)) out.push({ [key]: cell(value) });
  return out.toString();
}

export function print(opts: Pick<GlobalOptions, 'json'>, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

export const money = (value: number, currency: string) => `${(value / 100).toFixed(2)} ${currency}`;

/** Progress on stderr, only for a person at a terminal (never mixed into --json or piped output). */
export function progress(opts: Pick<GlobalOptions, 'json'>, label: string) {
  const live = process.stderr.isTTY && !opts.json;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let text = label;
  const draw = () => live && process.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${text}`);
  const timer = live ? setInterval(draw, 100) : undefined;
  return {
    update(done: number, total: number, what: string) {
      const width = 24;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${what}`;
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      if (live) process.stderr.write('\r\x1b[2K');
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ─── Argument parsers ──────────────────────────────────────────────────────────────────────────

export const positiveInt = (what: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return Number(value);
};

export const day = (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  return value;
};
