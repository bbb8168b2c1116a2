// A reconciliation run's discrepancies: what they count, which of them the healing loop tries, and
// whether the ledger agrees after it. The ledger itself is written by the payment workflows alone.
import { and, asc, gt, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { reconciliationDiscrepancies, reconciliationRuns } from '../db/schema';
import type { ProviderName } from '../domain/payments';
import type { DiscrepancyKind } from '../domain/reconciliation';
import { SETTLED, sqlList } from './reconciliation-statuses';

export type DiscrepancyRow = typeof reconciliationDiscrepancies.$inferSelect;

export interface HealCandidate {
  discrepancyId: number;
  reason: string;
  paymentId: string;
  provider: ProviderName;
  providerReference: string | null;
  amount: number;
  currency: string;
  reference: string;
  captureMethod: 'automatic' | 'manual';
  ledgerStatus: string;
}

/** The run's discrepancies per kind, and how many of them can be, were tried to be, and are healed. */
export async function countDiscrepancies(db: Database, runId: string) {
  const rows = await db.execute<{ kind: string; n: number; healable: number; healed: number; signalled: number }>(sql`
    select kind, count(*)::int as n, count(*) filter (where healable)::int as healable, count(*) filter (where healed)::int as healed,
           count(*) filter (where heal_result in ('signalled', 'healed'))::int as signalled
      from reconciliation_discrepancies where run_id = ${runId} group by kind`);
  const byKind: Partial<Record<DiscrepancyKind, number>> = {};
  let total = 0;
  let healable = 0;
  let healed = 0;
  let signalled = 0;
  for (const row of rows) {
    byKind[row.kind as DiscrepancyKind] = row.n;
    total += row.n;
    healable += row.healable;
    healed += row.healed;
    signalled += row.signalled;
  }
  return { byKind, total, healable, healed, signalled };
}

export function createDiscrepancyStore(db: Database) {
  return {
    /** The next healable discrepancies not yet tried, in id order (a batch of the healing loop). */
    async healCandidates(runId: string, afterId: number, limit: number): Promise<HealCandidate[]> {
      const rows = await db.execute<{
        id: string | number;
        reason: string;
        payment_id: string;
        provider: string;
        provider_reference: string | null;
        amount: string | number;
        currency: string;
        reference: string;
        capture_method: string;
        status: string;
      }>(sql`
        select d.id, d.evidence->>'reason' as reason, p.id as payment_id, p.provider, p.provider_reference, p.amount, p.currency,
               p.reference, p.capture_method, p.status
          from reconciliation_discrepancies d
          join payments p on p.id = d.payment_id
         where d.run_id = ${runId} and d.healable and d.heal_result is null and d.id > ${afterId}
         order by d.id
         limit ${limit}`);
      return rows.map((row) => ({
        discrepancyId: Number(row.id),
        reason: row.reason,
        paymentId: row.payment_id,
        provider: row.provider as ProviderName,
        providerReference: row.provider_reference,
        amount: Number(row.amount),
        currency: row.currency,
        reference: row.reference,
        captureMethod: row.capture_method === 'manual' ? 'manual' : 'automatic',
        ledgerStatus: row.status,
      }));
    },

    async recordHealAttempt(discrepancyId: number, result: string, note?: string): Promise<void> {
      await db.execute(sql`
        update reconciliation_discrepancies
           set heal_result = ${result}, heal_attempted_at = now(),
               evidence = case when ${note ?? null}::text is null then evidence else jsonb_set(evidence, '{heal}', to_jsonb(${note ?? null}::text)) end
         where id = ${discrepancyId}`);
    },

    /**
     * Marks healed what the ledger now agrees with: the payment's workflow applied the provider's
     * state and recorded it. Only checks; the ledger is written by the payment workflows alone.
     */
    async verifyHealing(runId: string): Promise<{ healed: number; pending: number; signalled: number }> {
      const settled = sqlList(SETTLED);
      await db.execute(sql`
        update reconciliation_discrepancies d set healed = true, healed_at = now(), heal_result = 'healed'
          from payments p
         where d.run_id = ${runId} and d.healable and not d.healed and d.heal_result = 'signalled' and p.id = d.payment_id
           and ((d.evidence->>'reason' = 'lost_payment_webhook' and p.status in (${settled}))
             or (d.evidence->>'reason' = 'lost_refund_webhook' and p.amount_refunded >= (d.evidence->>'providerRefunded')::bigint))`);
      const counts = await countDiscrepancies(db, runId);
      const [pending] = await db.execute<{ n: number }>(sql`
        select count(*)::int as n from reconciliation_discrepancies where run_id = ${runId} and heal_result = 'signalled' and not healed`);
      await db.update(reconciliationRuns).set({ healed: counts.healed, updatedAt: sql`now()` }).where(eq(reconciliationRuns.id, runId));
      return { healed: counts.healed, pending: pending?.n ?? 0, signalled: counts.signalled };
    },

    async listDiscrepancies(runId: string, options: { kind?: DiscrepancyKind; afterId?: number; limit?: number } = {}): Promise<DiscrepancyRow[]> {
      return db
        .select()
        .from(reconciliationDiscrepancies)
        .where(
          and(
            eq(reconciliationDiscrepancies.runId, runId),
            options.kind ? eq(reconciliationDiscrepancies.kind, options.kind) : undefined,
            options.afterId !== undefined ? gt(reconciliationDiscrepancies.id, options.afterId) : undefined,
          ),
        )
        .orderBy(asc(reconciliationDiscrepancies.id))
        .limit(options.limit ?? 100_000);
    },

    /** Discrepancies a person still has to look at, per provider, from each provider's latest finished run. */
    async openDiscrepanciesByProvider(): Promise<Array<{ provider: string; open: number }>> {
      const rows = await db.execute<{ provider: string; open: number }>(sql`
        select r.provider, (r.discrepancies - r.healed)::int as open
          from (select distinct on (provider) provider, discrepancies, healed
                  from reconciliation_runs where status = 'completed'
                 order by provider, period_to desc, finished_at desc) r`);
      return [...rows];
    },

    countsOf: (runId: string) => countDiscrepancies(db, runId),
  };
}

export type DiscrepancyStore = ReturnType<typeof createDiscrepancyStore>;
