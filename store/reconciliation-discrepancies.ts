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
  /** The ledger row's revision: a run started from the ledger continues it (the ledger keeps the newest). */
  ledgerRevision: number;
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

type CandidateRow = {
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
  revision: string | number;
};

const candidateOf = (row: CandidateRow): HealCandidate => ({
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
  ledgerRevision: Number(row.revision),
});

/** An on-demand heal that has claimed a discrepancy and died is taken over after this long. */
const HEAL_CLAIM_MS = 2 * 60_000;

/** Why a person's heal or ignore was refused: the discrepancy is settled, or cannot be healed. */
export type DiscrepancyActionRefusal = 'not_found' | 'not_healable' | 'healed' | 'ignored' | 'healing' | 'run_in_progress';

export function createDiscrepancyStore(db: Database) {
  /** The run's ignored count, kept on its row for the overview and the open-discrepancy gauge. */
  const countIgnored = (runId: string) =>
    db.execute(sql`
      update reconciliation_runs set updated_at = now(),
             ignored = (select count(*)::int from reconciliation_discrepancies where run_id = ${runId} and resolution = 'ignored')
       where id = ${runId}`);

  /** Why an action on this discrepancy cannot go ahead (after the conditional update found nothing). */
  const refusalOf = async (runId: string, discrepancyId: number, action: 'heal' | 'ignore'): Promise<DiscrepancyActionRefusal> => {
    const [row] = await db
      .select()
      .from(reconciliationDiscrepancies)
      .where(and(eq(reconciliationDiscrepancies.runId, runId), eq(reconciliationDiscrepancies.id, discrepancyId)));
    if (!row) return 'not_found';
    if (row.healed) return 'healed';
    if (row.resolution === 'ignored') return 'ignored';
    if (row.healResult === 'signalled' || row.healResult === 'healing') return 'healing';
    if (action === 'heal' && !row.healable) return 'not_healable';
    // The row allows it: what stood in the way is the run itself (or a payment row gone).
    return 'run_in_progress';
  };

  return {
    async getDiscrepancy(runId: string, discrepancyId: number): Promise<DiscrepancyRow | undefined> {
      const [row] = await db
        .select()
        .from(reconciliationDiscrepancies)
        .where(and(eq(reconciliationDiscrepancies.runId, runId), eq(reconciliationDiscrepancies.id, discrepancyId)));
      return row;
    },

    /**
     * Claims one healable discrepancy for a person's heal, recording who asked: only when it is not
     * healed, not ignored, no heal of it is on its way, and its run has finished (the run's own
     * healing loop is not raced). Returns what the healing needs, or why not.
     */
    async claimHeal(runId: string, discrepancyId: number, by: string): Promise<{ candidate: HealCandidate } | { refused: DiscrepancyActionRefusal }> {
      const rows = await db.execute<CandidateRow>(sql`
        with claimed as (
          update reconciliation_discrepancies d
             set heal_result = 'healing', heal_attempted_at = now(), resolution = 'heal_requested', resolved_by = ${by}, resolved_at = now()
           where d.run_id = ${runId} and d.id = ${discrepancyId} and d.healable and not d.healed
             and d.resolution is distinct from 'ignored'
             and (d.heal_result is null or d.heal_result not in ('signalled', 'healing')
                  or (d.heal_result = 'healing' and d.heal_attempted_at < now() - make_interval(secs => ${HEAL_CLAIM_MS / 1000})))
             and exists (select 1 from reconciliation_runs r where r.id = d.run_id and r.status <> 'running')
             and exists (select 1 from payments p where p.id = d.payment_id)
          returning d.id, d.payment_id, d.evidence)
        select c.id, c.evidence->>'reason' as reason, p.id as payment_id, p.provider, p.provider_reference, p.amount, p.currency,
               p.reference, p.capture_method, p.status, p.revision
          from claimed c join payments p on p.id = c.payment_id`);
      const [row] = rows;
      return row ? { candidate: candidateOf(row) } : { refused: await refusalOf(runId, discrepancyId, 'heal') };
    },

    /**
     * A person leaves the discrepancy as it is, on purpose: recorded with who, when and why, and no
     * longer counted as open. Refused once it is healed, ignored, or a heal of it is on its way.
     */
    async ignore(runId: string, discrepancyId: number, decision: { by: string; reason: string }): Promise<DiscrepancyRow | { refused: DiscrepancyActionRefusal }> {
      const [row] = await db
        .update(reconciliationDiscrepancies)
        .set({ resolution: 'ignored', resolvedBy: decision.by, resolvedAt: sql`now()`, resolutionNote: decision.reason })
        .where(
          and(
            eq(reconciliationDiscrepancies.runId, runId),
            eq(reconciliationDiscrepancies.id, discrepancyId),
            eq(reconciliationDiscrepancies.healed, false),
            sql`${reconciliationDiscrepancies.resolution} is distinct from 'ignored'`,
            sql`(${reconciliationDiscrepancies.healResult} is null or ${reconciliationDiscrepancies.healResult} not in ('signalled', 'healing'))`,
            sql`exists (select 1 from reconciliation_runs r where r.id = ${runId} and r.status <> 'running')`,
          ),
        )
        .returning();
      if (!row) return { refused: await refusalOf(runId, discrepancyId, 'ignore') };
      await countIgnored(runId);
      return row;
    },

    /** The next healable discrepancies not yet tried, in id order (a batch of the healing loop). */
    async healCandidates(runId: string, afterId: number, limit: number): Promise<HealCandidate[]> {
      const rows = await db.execute<CandidateRow>(sql`
        select d.id, d.evidence->>'reason' as reason, p.id as payment_id, p.provider, p.provider_reference, p.amount, p.currency,
               p.reference, p.capture_method, p.status, p.revision
          from reconciliation_discrepancies d
          join payments p on p.id = d.payment_id
         where d.run_id = ${runId} and d.healable and d.heal_result is null and d.id > ${afterId}
         order by d.id
         limit ${limit}`);
      return rows.map(candidateOf);
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
           and ((d.evidence->>'reason' in ('lost_payment_webhook', 'money_moved_on_closed_payment') and p.status in (${settled}))
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
        select r.provider, greatest(r.discrepancies - r.healed - r.ignored, 0)::int as open
          from (select distinct on (provider) provider, discrepancies, healed, ignored
                  from reconciliation_runs where status = 'completed'
                 order by provider, period_to desc, finished_at desc) r`);
      return [...rows];
    },

    countsOf: (runId: string) => countDiscrepancies(db, runId),
  };
}

export type DiscrepancyStore = ReturnType<typeof createDiscrepancyStore>;
