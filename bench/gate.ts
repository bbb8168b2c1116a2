// What `npm run bench` refuses to publish: any benchmark that lost, doubled or never delivered a
// piece of work, or whose comparison saw a discrepancy that was not seeded. Each line names the
// benchmark and the count; an empty list lets the run exit 0.
type Results = Record<string, unknown>;

const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export function benchGate(results: Results): string[] {
  const failures: string[] = [];
  const above = (label: string, value: unknown) => {
    if (count(value) > 0) failures.push(`${label}: ${count(value)}`);
  };
  const b3 = results.B3 as { skerry?: { lostPayments?: number; duplicateLedgerEvents?: number; failed?: number }; baseline?: { failed?: number } } | undefined;
  if (b3) {
    above('B3 payments lost', b3.skerry?.lostPayments);
    above('B3 duplicate ledger events', b3.skerry?.duplicateLedgerEvents);
    above('B3 payments that failed', b3.skerry?.failed);
    above('B3 baseline workflows that failed', b3.baseline?.failed);
  }
  const undelivered = (label: string, phase: { eventsSent?: number; delivered?: number } | undefined) => {
    if (phase) above(`${label} webhooks never delivered`, count(phase.eventsSent) - count(phase.delivered));
  };
  const b2 = results.B2 as ({ eventsSent?: number; delivered?: number; atQuarterRate?: { eventsSent?: number; delivered?: number } }) | undefined;
  undelivered('B2 at 200/s', b2);
  undelivered('B2 at 50/s', b2?.atQuarterRate);
  const b5 = results.B5 as { boundedCache?: { signalsToEvictedAt50PerSecond?: { eventsSent?: number; delivered?: number } } } | undefined;
  undelivered('B5 signals to evicted payments', b5?.boundedCache?.signalsToEvictedAt50PerSecond);
  const b4 = results.B4 as { rows?: number; skerry?: { transactions?: number; discrepancies?: number }; baseline?: { mismatches?: number } } | undefined;
  if (b4) {
    above('B4 rows the reconciliation never read', count(b4.rows) - count(b4.skerry?.transactions));
    above('B4 false discrepancies', b4.skerry?.discrepancies);
    above('B4 baseline mismatches', b4.baseline?.mismatches);
  }
  for (const name of ['B6', 'B6C', 'B6I']) {
    const b6 = results[name] as { neverArrived?: number } | undefined;
    if (b6) above(`${name} reservations that never reached the other channel`, b6.neverArrived);
  }
  const b1 = results.B1 as { skerry?: { errors?: number; non2xx?: number }; deployed?: { errors?: number; accepted?: number; delivered?: number } } | undefined;
  if (b1) {
    above('B1 connection errors', b1.skerry?.errors);
    above('B1 webhooks refused (non-2xx)', b1.skerry?.non2xx);
    if (b1.deployed) {
      above('B1b connection errors', b1.deployed.errors);
      above('B1b accepted webhooks never delivered', count(b1.deployed.accepted) - count(b1.deployed.delivered));
    }
  }
  return failures;
}
