// `npx skerry …`: the operator's CLI. It only talks to the HTTP API (--api or SKERRY_API_URL), so it
// works the same against `npm start`, a staging box or production, and needs no database or
// Temporal credentials. Tables by default, --json for scripts, and exit codes scripts rely on.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import Table from 'cli-table3';

export const EXIT = { ok: 0, usage: 1, notFound: 2, unavailable: 3, server: 4 } as const;

const EXIT_HELP = `
Exit codes:
  0  ok
  1  usage: unknown command or option, invalid input (HTTP 400)
  2  not found (HTTP 404)
  3  conflict or unavailable: the request cannot be done in this state (HTTP 409), the API or a
     feature is not available (HTTP 503, connection refused, a route this server does not have)
  4  server error (HTTP 5xx, a provider error answered 502)

Environment:
  SKERRY_API_URL  the API base URL (default http://127.0.0.1:3000); --api overrides it`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface GlobalOptions {
  api: string;
  json: boolean;
}

// ─── HTTP ──────────────────────────────────────────────────────────────────────────────────────

function exitCodeFor(status: number): number {
  if (status === 400 || status === 422) return EXIT.usage;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 503) return EXIT.unavailable;
  return EXIT.server;
}

async function call<T = unknown>(opts: GlobalOptions, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const url = `${opts.api.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the Skerry API at ${opts.api}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.unavailable);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = (parsed as { message?: string } | undefined)?.message ?? `${response.status} ${response.statusText}`;
    throw new CliError(`${method} ${path}: ${message}`, exitCodeFor(response.status));
  }
  return parsed as T;
}

/** A route this server does not have (an older deployment, a feature not built): exit 3, said plainly. */
async function callFeature<T>(opts: GlobalOptions, feature: string, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await call<T>(opts, method, path, body);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.notFound && /Route .* not found/i.test(err.message)) {
      throw new CliError(`${feature} is not available on this server (${opts.api} has no ${method} ${path.split('?')[0]})`, EXIT.unavailable);
    }
    throw err;
  }
}

// ─── Output ────────────────────────────────────────────────────────────────────────────────────

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// No rule between rows: compact enough to read a few hundred inbox rows.
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

function table(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  const heads = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const out = new Table({ head: heads, chars: COMPACT, style: { head: [], border: [] }, wordWrap: true });
  for (const row of rows) out.push(heads.map((head) => cell(row[head])));
  return out.toString();
}

function keyValues(record: Record<string, unknown>): string {
  const out = new Table({ chars: COMPACT, style: { head: [], border: [] }, wordWrap: true });
  for (const [key, value] of Object.entries(record)) out.push({ [key]: cell(value) });
  return out.toString();
}

function print(opts: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

const money = (value: number, currency: string) => `${(value / 100).toFixed(2)} ${currency}`;

/** Progress on stderr, only for a person at a terminal (never mixed into --json or piped output). */
function progress(opts: GlobalOptions, label: string) {
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ─── Argument parsers ──────────────────────────────────────────────────────────────────────────

const positiveInt = (what: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`);
  return Number(value);
};
const day = (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  return value;
};

// ─── Commands ──────────────────────────────────────────────────────────────────────────────────

interface PaymentView {
  paymentId: string;
  workflowId: string;
  provider: string;
  status: string;
  reference: string;
  providerReference: string | null;
  amount: { value: number; currency: string };
  amountCaptured: number;
  amountRefunded: number;
  captureMethod: string;
  failureReason: string | null;
  nextAction: Record<string, unknown> | null;
  events: Array<{ occurredAt: string; source: string; providerEventType: string; statusBefore: string; statusAfter: string; applied: boolean }>;
  refunds: Array<{ refundId: string; amount: number; status: string }>;
}

function paymentText(payment: PaymentView, events: boolean): string {
  const summary = keyValues({
    payment: payment.paymentId,
    workflow: payment.workflowId,
    status: payment.status,
    provider: payment.provider,
    reference: payment.reference,
    'provider ref': payment.providerReference,
    amount: money(payment.amount.value, payment.amount.currency),
    captured: money(payment.amountCaptured, payment.amount.currency),
    refunded: money(payment.amountRefunded, payment.amount.currency),
    capture: payment.captureMethod,
    ...(payment.failureReason ? { failure: payment.failureReason } : {}),
    ...(payment.nextAction ? { 'next action': payment.nextAction.type } : {}),
  });
  const parts = [summary];
  if (payment.refunds.length) parts.push(table(payment.refunds, ['refundId', 'amount', 'status']));
  if (events && payment.events.length) {
    parts.push(table(payment.events.map((e) => ({ ...e, applied: e.applied ? 'yes' : 'no' })), ['occurredAt', 'source', 'providerEventType', 'statusBefore', 'statusAfter', 'applied']));
  }
  return parts.join('\n');
}

function paymentsCommand(globals: () => GlobalOptions): Command {
  const payments = new Command('payments').description('create, read, capture, cancel and refund payments');
  const show = (payment: PaymentView, events = false) => print(globals(), payment, () => paymentText(payment, events));

  payments
    .command('create')
    .description('start a payment (POST /payments)')
    .requiredOption('--provider <provider>', 'stripe, paypal, swish or mobilepay')
    .requiredOption('--amount <minor>', 'amount in minor units (öre, cents)', positiveInt('--amount'))
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. SEK')
    .requiredOption('--reference <ref>', 'booking or order reference')
    .addOption(new Option('--capture-method <method>', 'automatic or manual').choices(['automatic', 'manual']).default('automatic'))
    .option('--description <text>', 'shown to the payer where the provider supports it')
    .option('--payer-alias <alias>', 'Swish or MobilePay phone number')
    .option('--idempotency-key <key>', 'a retried create with the same key returns the same payment')
    .action(async (options) => {
      const body = {
        provider: options.provider,
        amount: { value: options.amount, currency: options.currency },
        reference: options.reference,
        captureMethod: options.captureMethod,
        ...(options.description ? { description: options.description } : {}),
        ...(options.payerAlias ? { payer: { alias: options.payerAlias } } : {}),
      };
      const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
      show(await call<PaymentView>(globals(), 'POST', '/payments', body, headers));
    });

  payments
    .command('status')
    .description("a payment's live state (GET /payments/:id)")
    .argument('<paymentId>', 'pay_…')
    .option('--events', 'also list every observation the workflow applied or ignored')
    .action(async (paymentId: string, options) => show(await call<PaymentView>(globals(), 'GET', `/payments/${encodeURIComponent(paymentId)}`), options.events));

  payments
    .command('capture')
    .description('capture an authorized payment, all or part')
    .argument('<paymentId>', 'pay_…')
    .option('--amount <minor>', 'part to capture (default: all)', positiveInt('--amount'))
    .option('--idempotency-key <key>', 'makes a retried capture the same capture')
    .action(async (paymentId: string, options) => {
      const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
      show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/capture`, options.amount ? { amount: options.amount } : {}, headers));
    });

  payments
    .command('cancel')
    .description('cancel a payment that has not been captured')
    .argument('<paymentId>', 'pay_…')
    .action(async (paymentId: string) => show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/cancel`)));

  payments
    .command('refund')
    .description('refund a captured payment, all or part')
    .argument('<paymentId>', 'pay_…')
    .option('--amount <minor>', 'part to refund (default: what is left)', positiveInt('--amount'))
    .option('--reason <text>', 'kept with the refund')
    .option('--idempotency-key <key>', 'makes a retried refund the same refund')
    .action(async (paymentId: string, options) => {
      const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
      const body = { ...(options.amount ? { amount: options.amount } : {}), ...(options.reason ? { reason: options.reason } : {}) };
      show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/refunds`, body, headers));
    });
  return payments;
}

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

const INBOX_COLUMNS = ['id', 'provider', 'eventType', 'status', 'paymentId', 'attempts', 'duplicates', 'receivedAt', 'lastError'];

function webhooksCommand(globals: () => GlobalOptions): Command {
  const webhooks = new Command('webhooks').description('the durable webhook inbox: list it, replay events to their workflows');

  webhooks
    .command('list')
    .description('inbox rows, newest first (GET /webhooks)')
    .addOption(new Option('--status <status>', 'only rows in this state').choices(['pending', 'delivered', 'unmatched', 'ignored', 'closed', 'failed']))
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
          const settled = items.filter((row) => row.status !== 'pending').length;
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
        if (items.some((row) => row.status === 'pending')) {
          throw new CliError(`${counts.pending} event(s) still pending after ${options.timeout}s; the delivery loop keeps retrying them`, EXIT.unavailable);
        }
      } finally {
        bar.stop();
      }
    });
  return webhooks;
}

/** What GET /providers reports per provider (only the fields the table shows; --json prints all). */
interface ProviderStatus {
  provider: string;
  rateLimitPerSecond?: number;
  circuitBreaker?: { state?: string; openUntil?: string | null; lastFailure?: unknown; window?: { calls?: number; failures?: number } };
  quota?: { calls?: number; limit?: number | null; windowSeconds?: number; usageRatio?: number | null };
  oauth?: Array<{ key: string; lastError?: string | null }>;
}

function providersCommand(globals: () => GlobalOptions): Command {
  const providers = new Command('providers').description('provider health: circuit breakers, quotas, tokens');
  providers
    .command('status')
    .description('circuit breaker state and quota usage per provider (GET /providers)')
    .action(async () => {
      const data = await callFeature<{ providers?: ProviderStatus[] }>(globals(), 'Provider status (circuit breakers and quotas)', 'GET', '/providers');
      const rows = data?.providers ?? [];
      print(globals(), data, () =>
        rows.length
          ? table(
              rows.map((p) => ({
                provider: p.provider,
                breaker: p.circuitBreaker?.state ?? '',
                'window failures': p.circuitBreaker?.window ? `${p.circuitBreaker.window.failures ?? 0}/${p.circuitBreaker.window.calls ?? 0}` : '',
                'open until': p.circuitBreaker?.openUntil ?? '',
                'last failure': p.circuitBreaker?.lastFailure ?? '',
                quota: p.quota ? `${p.quota.calls ?? 0}${p.quota.limit != null ? `/${p.quota.limit}` : ''} per ${p.quota.windowSeconds ?? '?'}s` : '',
                usage: typeof p.quota?.usageRatio === 'number' ? `${Math.round(p.quota.usageRatio * 100)}%` : '',
                'rate limit/s': p.rateLimitPerSecond ?? '',
                tokens: p.oauth?.length ? p.oauth.map((t) => (t.lastError ? `${t.key}: ${t.lastError}` : `${t.key}: ok`)).join('; ') : '',
              })),
            )
          : 'no providers reported',
      );
    });
  return providers;
}

const CHANNELS = ['booking_com', 'airbnb'];

function channelsCommand(globals: () => GlobalOptions): Command {
  const channels = new Command('channels').description('booking channels (Booking.com, Airbnb): reservation queues and resyncs');

  channels
    .command('status')
    .description('unacknowledged reservation messages and recent resyncs per channel')
    .argument('[channels...]', `channels to show (default: ${CHANNELS.join(', ')})`)
    .action(async (names: string[]) => {
      const opts = globals();
      const wanted = names.length ? names : CHANNELS;
      const statuses: Array<{ channel: string; poll: { polls?: number; lastPollAt?: string; lastError?: string } | null; unacked: unknown[]; oldestUnackedAgeMs: number; lastResync: Record<string, unknown> | null }> = [];
      for (const channel of wanted) {
        const queue = await callFeature<{ poll: { polls?: number; lastPollAt?: string; lastError?: string } | null; unacked: unknown[]; oldestUnackedAgeMs: number }>(
          opts,
          'The channel manager',
          'GET',
          `/channels/${encodeURIComponent(channel)}/queue`,
        );
        const { runs } = await callFeature<{ runs: Array<Record<string, unknown>> }>(opts, 'The channel manager', 'GET', `/channels/${encodeURIComponent(channel)}/resyncs`);
        statuses.push({ channel, ...queue, lastResync: runs[0] ?? null });
      }
      print(opts, statuses, () =>
        table(
          statuses.map((s) => ({
            channel: s.channel,
            unacked: s.unacked.length,
            'oldest unacked': s.unacked.length ? `${Math.round(s.oldestUnackedAgeMs / 1000)}s` : '',
            polls: s.poll?.polls ?? '',
            'last poll': s.poll?.lastPollAt ?? '',
            'poll error': s.poll?.lastError ?? '',
            'last resync': s.lastResync ? `${cell(s.lastResync.status)} ${cell(s.lastResync.startedAt)}` : '',
          })),
        ),
      );
    });

  channels
    .command('resync')
    .description('push the full calendar and re-read reservations for a channel (POST /channels/:channel/resync)')
    .argument('<channel>', CHANNELS.join(' or '))
    .option('--horizon-days <n>', 'days ahead to push', positiveInt('--horizon-days'))
    .option('--wait', 'follow the resync until it finishes, with progress')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt('--timeout'), 600)
    .action(async (channel: string, options) => {
      const opts = globals();
      const body = options.horizonDays ? { horizonDays: options.horizonDays } : {};
      const started = await callFeature<{ workflowId: string }>(opts, 'The channel manager', 'POST', `/channels/${encodeURIComponent(channel)}/resync`, body);
      if (!options.wait) {
        print(opts, started, () => `resync started: ${started.workflowId}\nfollow it with: skerry channels resync ${channel} --wait, or in the Temporal Web UI`);
        return;
      }
      const bar = progress(opts, `resync ${channel}`);
      const deadline = Date.now() + options.timeout * 1000;
      try {
        for (;;) {
          const state = await call<{ status: string; progress: { unitsDone?: string[]; pages?: number }; error?: string }>(
            opts,
            'GET',
            `/channels/${encodeURIComponent(channel)}/resync/${encodeURIComponent(started.workflowId)}`,
          );
          bar.update(state.progress?.unitsDone?.length ?? 0, state.progress?.unitsDone?.length ?? 0, `units, ${state.progress?.pages ?? 0} pages`);
          if (state.status !== 'running') {
            bar.stop();
            print(opts, { workflowId: started.workflowId, ...state }, () => keyValues({ workflow: started.workflowId, status: state.status, ...state.progress, error: state.error }));
            if (state.status === 'failed') throw new CliError(`resync failed: ${state.error ?? 'unknown error'}`, EXIT.server);
            return;
          }
          if (Date.now() > deadline) throw new CliError(`resync still running after ${options.timeout}s: ${started.workflowId}`, EXIT.unavailable);
          await sleep(1000);
        }
      } finally {
        bar.stop();
      }
    });
  return channels;
}

function reconciliationCommand(globals: () => GlobalOptions): Command {
  const reconciliation = new Command('reconciliation').description('compare the ledger with the providers');
  const feature = 'Reconciliation';

  reconciliation
    .command('run')
    .description('reconcile a provider for a day or a period (POST /reconciliations)')
    .requiredOption('--provider <provider>', 'stripe, paypal, swish or mobilepay')
    .option('--from <day>', 'first day, YYYY-MM-DD (default: yesterday, UTC)', day)
    .option('--to <day>', 'last day, inclusive (default: --from)', day)
    .option('--wait', 'follow the run until it finishes, with progress')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt('--timeout'), 600)
    .action(async (options) => {
      const opts = globals();
      const from = options.from ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const started = await callFeature<{ id: string; started: boolean; run: unknown }>(opts, feature, 'POST', '/reconciliations', {
        provider: options.provider,
        from,
        ...(options.to ? { to: options.to } : {}),
      });
      if (!options.wait) {
        print(opts, started, () => `reconciliation ${started.started ? 'started' : 'already running'}: ${started.id}\nreport: skerry reconciliation report ${started.id}`);
        return;
      }
      const bar = progress(opts, `reconciling ${options.provider}`);
      const deadline = Date.now() + options.timeout * 1000;
      try {
        for (;;) {
          const run = await call<Record<string, unknown> & { status?: string }>(opts, 'GET', `/reconciliations/${encodeURIComponent(started.id)}`);
          bar.update(0, 0, `${cell(run.status)} ${cell(run.phase)}`);
          if (run.status && run.status !== 'running') {
            bar.stop();
            print(opts, run, () => keyValues(run));
            return;
          }
          if (Date.now() > deadline) throw new CliError(`reconciliation still running after ${options.timeout}s: ${started.id}`, EXIT.unavailable);
          await sleep(1000);
        }
      } finally {
        bar.stop();
      }
    });

  reconciliation
    .command('report')
    .description("a run's discrepancies (GET /reconciliations/:id/report); without an id, the recent runs")
    .argument('[runId]', 'reconciliation-<provider>-<YYYY-MM-DD>')
    .action(async (runId: string | undefined) => {
      const opts = globals();
      if (!runId) {
        const { runs } = await callFeature<{ runs: Array<Record<string, unknown>> }>(opts, feature, 'GET', '/reconciliations');
        print(opts, runs, () => (runs.length ? table(runs) : 'no reconciliation runs yet'));
        return;
      }
      const report = await callFeature<Record<string, unknown> & { discrepancies?: Array<Record<string, unknown>> }>(
        opts,
        feature,
        'GET',
        `/reconciliations/${encodeURIComponent(runId)}/report`,
      );
      print(opts, report, () => {
        const { discrepancies = [], ...rest } = report;
        return [keyValues(rest), discrepancies.length ? table(discrepancies) : 'no discrepancies'].join('\n');
      });
    });
  return reconciliation;
}

// ─── Program ───────────────────────────────────────────────────────────────────────────────────

export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('skerry')
    .description("Skerry's operations CLI: payments, the webhook inbox, providers, channels and reconciliation, over the HTTP API")
    .option('--api <url>', 'API base URL', env.SKERRY_API_URL ?? 'http://127.0.0.1:3000')
    .option('--json', 'machine-readable JSON on stdout instead of tables', false)
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  for (const command of [paymentsCommand(globals), webhooksCommand(globals), providersCommand(globals), channelsCommand(globals), reconciliationCommand(globals)]) {
    command.addHelpText('after', EXIT_HELP).exitOverride();
    for (const sub of command.commands) sub.exitOverride();
    program.addCommand(command);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`skerry: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`skerry: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.server;
  }
}

process.exitCode = await main(process.argv.slice(2));
