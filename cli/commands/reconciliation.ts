// `skerry reconciliation …`: compare the ledger with the providers, and read the reports.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { call, callFeature, CliError, EXIT, type GlobalOptions } from '../http';
import { cell, day, keyValues, positiveInt, print, progress, sleep, table } from '../output';

export function reconciliationCommand(globals: () => GlobalOptions): Command {
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
  reconciliation
    .command('heal')
    .description("heal one discrepancy now, as a run heals it: read the provider and tell the payment (POST …/discrepancies/:id/heal)")
    .argument('<runId>', 'reconciliation-<provider>-<YYYY-MM-DD>')
    .argument('<discrepancyId>', "the discrepancy's id in the report", positiveInt('discrepancyId'))
    .option('--yes', 'do not ask for confirmation (scripts)')
    .option('--idempotency-key <key>', 'makes a retried heal the same heal (default: a new key for this call)')
    .action(async (runId: string, discrepancyId: number, options: { yes?: boolean; idempotencyKey?: string }) => {
      const opts = globals();
      await confirm(options.yes, `Heal discrepancy ${discrepancyId} of ${runId}? Skerry reads the payment at its provider and tells its workflow.`);
      const healed = await call<Record<string, unknown>>(opts, 'POST', discrepancyPath(runId, discrepancyId, 'heal'), {}, { 'idempotency-key': options.idempotencyKey ?? randomUUID() });
      print(opts, healed, () => keyValues(withoutEvidence(healed)));
    });

  reconciliation
    .command('ignore')
    .description('leave one discrepancy as it is, on purpose, saying why; it is no longer open (POST …/discrepancies/:id/ignore)')
    .argument('<runId>', 'reconciliation-<provider>-<YYYY-MM-DD>')
    .argument('<discrepancyId>', "the discrepancy's id in the report", positiveInt('discrepancyId'))
    .requiredOption('--reason <text>', 'why it is left as it is (kept with who and when)')
    .option('--yes', 'do not ask for confirmation (scripts)')
    .option('--idempotency-key <key>', 'makes a retried ignore the same ignore (default: a new key for this call)')
    .action(async (runId: string, discrepancyId: number, options: { reason: string; yes?: boolean; idempotencyKey?: string }) => {
      const opts = globals();
      await confirm(options.yes, `Ignore discrepancy ${discrepancyId} of ${runId} ("${options.reason}")? It stays in the report, marked ignored by this key.`);
      const ignored = await call<Record<string, unknown>>(opts, 'POST', discrepancyPath(runId, discrepancyId, 'ignore'), { reason: options.reason }, { 'idempotency-key': options.idempotencyKey ?? randomUUID() });
      print(opts, ignored, () => keyValues(withoutEvidence(ignored)));
    });
  return reconciliation;
}

const discrepancyPath = (runId: string, discrepancyId: number, action: 'heal' | 'ignore') =>
  `/reconciliations/${encodeURIComponent(runId)}/discrepancies/${discrepancyId}/${action}`;

const withoutEvidence = ({ evidence: _evidence, ...rest }: Record<string, unknown>) => rest;

/**
 * A heal or an ignore is a decision about money: asked at a terminal, and only done without asking
 * when --yes says so (a script cannot answer a prompt, so without --yes it is refused).
 */
async function confirm(yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new CliError(`${question}\nnot confirmed: pass --yes to confirm without a terminal`, EXIT.usage);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not confirmed: nothing was changed', EXIT.usage);
  } finally {
    prompt.close();
  }
}
