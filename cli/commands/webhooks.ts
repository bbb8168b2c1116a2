// `skerry webhooks …`: the durable webhook inbox, listed and replayed to the workflows.
import { Command, Option } from 'commander';
import { call, CliError, EXIT, type GlobalOptions } from '../http';
import { positiveInt, print, progress, sleep, table } from '../output';
import { DELIVERABLE_INBOX_STATUSES, WEBHOOK_INBOX_STATUSES } from '../../db/schema/webhooks';

interface InboxEntry {
  id: number;
  provider: string;
  eventId: string;
  eventType: string;
  status: string;
  paymentId: string | null;
  attempts: number;
  duplicates: number;
  lastError: string | null;
  receivedAt: string;
  deliveredAt: string | null;
}

/** A row the delivery loop still retries (received or pending), as opposed to one it settled or gave up on. */
const stillOwed = (row: InboxEntry) => (DELIVERABLE_INBOX_STATUSES as readonly string[]).includes(row.status);
const INBOX_COLUMNS = ['id', 'provider', 'eventType', 'status', 'paymentId', 'attempts', 'duplicates', 'receivedAt', 'lastError'];

export function webhooksCommand(globals: () => GlobalOptions): Command {
  const webhooks = new Command('webhooks').description('the durable webhook inbox: list it, replay events to their workflows');

  webhooks
    .command('list')
    .description('inbox rows, newest first (GET /webhooks)')
    .addOption(new Option('--status <status>', 'only rows in this state').choices(WEBHOOK_INBOX_STATUSES))
    .option('--provider <provider>', 'only this provider')
    .option('--from <id>', 'lowest inbox id', positiveInt('--from'))
    .option('--to <id>', 'highest inbox id', positiveInt('--to'))
    .option('--limit <n>', 'at most this many rows (1-1000)', positiveInt('--limit'), 50)
    .action(async (options) => {
      const query = new URLSearchParams({ limit: String(options.limit) });
      if (options.status) query.set('status', options.status);
      if (options.provider) query.set('provider', options.provider);
      if (options.from) query.set('fromId', String(options.from));
      if (options.to) query.set('toId', String(options.to));
      const { items } = await call<{ items: InboxEntry[] }>(globals(), 'GET', `/webhooks?${query}`);
      print(globals(), items, () => (items.length ? table(items as unknown as Array<Record<string, unknown>>, INBOX_COLUMNS) : 'no inbox rows match'));
    });

  webhooks
    .command('replay')
    .description('deliver events to their workflows again: one id, or a range with --from/--to (POST /webhooks/replay)')
    .argument('[id]', 'one inbox id', positiveInt('id'))
    .option('--from <id>', 'lowest inbox id of a range', positiveInt('--from'))
    .option('--to <id>', 'highest inbox id of a range', positiveInt('--to'))
    .option('--provider <provider>', 'only this provider within the range')
    .option('--timeout <seconds>', 'how long to wait for the replayed rows to settle', positiveInt('--timeout'), 60)
    .addHelpText('after', '\nDelivery is idempotent: a workflow ignores an event id it has already applied, and an event for a\nclosed payment is settled as closed. Ignored rows (events Skerry does not act on) are never replayed.')
    .action(async (id: number | undefined, options) => {
      const opts = globals();
      if (id === undefined && (options.from === undefined || options.to === undefined)) {
        throw new CliError('give one inbox id, or a range with both --from and --to', EXIT.usage);
      }
      if (id !== undefined && (options.from !== undefined || options.to !== undefined)) {
        throw new CliError('give either an id or --from/--to, not both', EXIT.usage);
      }
      const body = id !== undefined ? { ids: [id] } : { fromId: options.from, toId: options.to, ...(options.provider ? { provider: options.provider } : {}) };
      const bar = progress(opts, 'replaying');
      try {
        const replay = await call<{ requeued: number; items: InboxEntry[] }>(opts, 'POST', '/webhooks/replay', body);
        // The API sweeps at once; rows whose workflow is busy or missing settle on the next sweeps.
        const ids = replay.items.map((row) => row.id);
        let items = replay.items;
        const deadline = Date.now() + options.timeout * 1000;
        for (;;) {
          const settled = items.filter((row) => !stillOwed(row)).length;
          bar.update(settled, items.length, 'settled');
          if (settled === items.length || Date.now() > deadline) break;
          await sleep(500);
          const query = new URLSearchParams({ fromId: String(Math.min(...ids)), toId: String(Math.max(...ids)), limit: '1000' });
          const wanted = new Set(ids);
          items = (await call<{ items: InboxEntry[] }>(opts, 'GET', `/webhooks?${query}`)).items.filter((row) => wanted.has(row.id));
        }
        bar.stop();
        const counts: Record<string, number> = {};
        for (const row of items) counts[row.status] = (counts[row.status] ?? 0) + 1;
        const result = { requeued: replay.requeued, statuses: counts, items };
        print(opts, result, () =>
          [
            `replayed ${replay.requeued} event(s): ${Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(', ')}`,
            table(items as unknown as Array<Record<string, unknown>>, INBOX_COLUMNS),
          ].join('\n'),
        );
        const owed = items.filter(stillOwed).length;
        if (owed > 0) {
          throw new CliError(`${owed} event(s) still pending after ${options.timeout}s; the delivery loop keeps retrying them`, EXIT.unavailable);
        }
      } finally {
        bar.stop();
      }
    });
  return webhooks;
}
