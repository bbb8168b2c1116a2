// B3: end-to-end payments against the bare workflow, measured so that neither side is favoured.
// Three pairs of timed phases in alternating order (Skerry first, baseline first, Skerry first),
// each phase on a freshly started worker (no cache carried over from the other side), each after a
// quiet pause in which every webhook the sandbox owes has been sent and every inbox row delivered.
// The figure is the median of the three ratios.
//
// When is a payment done? Its workflow stays open after the money is in, waiting only on a timer
// for the refund window. A phase therefore counts payments that reached `succeeded` in the ledger,
// and its clock runs until every webhook of theirs has been delivered to its workflow (the drain),
// so work the workflows still had queued is paid for inside the phase.
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { sql, inArray } from 'drizzle-orm';
import type { Client } from '@temporalio/client';
import type { createDatabase } from '../db/client';
import { payments, paymentEvents } from '../db/schema';
import type { baselineWorkflow } from './workflows/baseline';
import { adminFetch, percentile, round } from './support';
import type { CpuReport } from './cpu';

export interface PaymentPhase {
  completed: number;
  failed: number;
  seconds: number;
  drainSeconds: number;
  perSecond: number;
  toLedgerSucceededMs?: { p50: number; p99: number };
  cpu: CpuReport | undefined;
}

export interface PaymentsBenchResult {
  concurrency: number;
  order: Array<'skerry' | 'baseline'>;
  pairs: Array<{ skerry: PaymentPhase; baseline: PaymentPhase; ratio: number }>;
  ratio: number;
  skerry: PaymentPhase & { lostPayments: number; duplicateLedgerEvents: number; failed: number };
  baseline: PaymentPhase;
  logLevel: string;
}

export async function benchPayments(options: {
  durationS: number;
  concurrency: number;
  apiUrl: string;
  sandboxUrl: string;
  database: ReturnType<typeof createDatabase>;
  temporalClient: Client;
  /** Starts a fresh worker process for the next phase (the previous one stopped). */
  freshWorker: () => Promise<ChildProcess>;
  /** Every webhook sent and delivered: the quiet pause before a phase, the drain after one. */
  quiesce: () => Promise<void>;
  measureCpu: (worker: ChildProcess) => { stop(): CpuReport | undefined };
  logLevel: string;
  say: (message: string) => void;
}): Promise<PaymentsBenchResult> {
  const { say, database } = options;
  const started: string[] = [];

  const closedLoop = async (seconds: number, once: () => Promise<number | undefined>) => {
    let completed = 0;
    let failed = 0;
    const latencies: number[] = [];
    const deadline = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (Date.now() < deadline) {
          try {
            const latency = await once();
            if (latency !== undefined) latencies.push(latency);
            completed += 1;
          } catch (err) {
            failed += 1;
            if (failed <= 3) say(`B3 error: ${(err as Error).message}`);
          }
        }
      }),
    );
    return { completed, failed, latencies };
  };

  const waitFor = async <T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
    const giveUp = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > giveUp) throw new Error(`${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const onePayment = async () => {
    const begin = performance.now();
    const response = await adminFetch(`${options.apiUrl}/payments`, { body: { provider: 'stripe', amount: { value: 10_000, currency: 'SEK' }, reference: `b3-${randomUUID()}` } });
    if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
    const created = (await response.json()) as { paymentId: string; providerReference: string | null };
    started.push(created.paymentId);
    // Under load the create can answer before the PaymentIntent exists (201 with its initial state).
    const providerReference =
      created.providerReference ??
      (await waitFor(`payment ${created.paymentId} had no PaymentIntent`, async () => {
        const read = await adminFetch(`${options.apiUrl}/payments/${created.paymentId}`);
        return ((await read.json()) as { providerReference: string | null }).providerReference ?? undefined;
      }));
    const paid = await fetch(`${options.sandboxUrl}/stripe/_control/payments/${providerReference}/succeed`, { method: 'POST' });
    if (paid.status !== 200) throw new Error(`succeed answered ${paid.status}`);
    await waitFor(`payment ${created.paymentId} did not succeed`, async () => {
      const [row] = await database.sql`select status from payments where id = ${created.paymentId}`;
      return row?.status === 'succeeded' ? true : undefined;
    });
    return performance.now() - begin;
  };

  const oneBaseline = async () => {
    const handle = await options.temporalClient.workflow.start<typeof baselineWorkflow>('baselineWorkflow', { taskQueue: 'bench-baseline', workflowId: `baseline-${randomUUID()}` });
    await handle.signal('proceed');
    await handle.result();
    return undefined;
  };

  const phase = async (side: 'skerry' | 'baseline'): Promise<PaymentPhase> => {
    const worker = await options.freshWorker();
    await options.quiesce();
    say(`B3: ${side === 'skerry' ? 'Skerry payments' : 'baseline (two no-op activities and one signal)'}, ${options.concurrency} concurrent, ${options.durationS} s…`);
    const begin = performance.now();
    const cpu = options.measureCpu(worker);
    const loop = await closedLoop(options.durationS, side === 'skerry' ? onePayment : oneBaseline);
    const loopEnd = performance.now();
    if (side === 'skerry') await options.quiesce();
    const end = performance.now();
    const seconds = (end - begin) / 1000;
    return {
      completed: loop.completed,
      failed: loop.failed,
      seconds: round(seconds, 2),
      drainSeconds: round((end - loopEnd) / 1000, 2),
      perSecond: round(loop.completed / seconds),
      ...(loop.latencies.length ? { toLedgerSucceededMs: { p50: round(percentile(loop.latencies, 50)), p99: round(percentile(loop.latencies, 99)) } } : {}),
      cpu: cpu.stop(),
    };
  };

  const order: Array<'skerry' | 'baseline'> = ['skerry', 'baseline', 'baseline', 'skerry', 'skerry', 'baseline'];
  const runs: PaymentPhase[] = [];
  for (const side of order) runs.push(await phase(side));
  const pairs = [0, 1, 2].map((pair) => {
    const [first, second] = [runs[pair * 2]!, runs[pair * 2 + 1]!];
    const [skerry, baseline] = order[pair * 2] === 'skerry' ? [first, second] : [second, first];
    return { skerry, baseline, ratio: round(skerry.perSecond / baseline.perSecond, 3) };
  });
  const median = [...pairs].sort((a, b) => a.ratio - b.ratio)[1]!;

  // Lost: started but never succeeded in the ledger; duplicates: an event recorded twice.
  const rows = started.length ? await database.db.select({ id: payments.id, status: payments.status }).from(payments).where(inArray(payments.id, started)) : [];
  const lostPayments = started.length - rows.filter((row) => row.status === 'succeeded').length;
  const [duplicates] = await database.db.execute<{ n: number }>(
    sql`select count(*)::int as n from (select payment_id, event_id from ${paymentEvents} group by 1, 2 having count(*) > 1) d`,
  );
  return {
    concurrency: options.concurrency,
    order,
    pairs,
    ratio: median.ratio,
    skerry: { ...median.skerry, lostPayments, duplicateLedgerEvents: duplicates?.n ?? 0, failed: pairs.reduce((sum, pair) => sum + pair.skerry.failed, 0) },
    baseline: median.baseline,
    logLevel: options.logLevel,
  };
}
