// Reconciliation in Postgres. The provider's transactions are staged per run, then one transaction
// of SQL statements resolves them to ledger payments and writes every discrepancy: the matching is
// set-based and never passes through workflow code or history. Every statement is idempotent per
// run, so an activity retried after a crash writes the same rows again, never twice.
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { reconciliationDiscrepancies, reconciliationRuns, reconciliationTransactions } from '../db/schema';
import type { ProviderTransaction } from '../domain/provider-transactions';
import type { ProviderName } from '../domain/payments';
import { DISCREPANCY_KINDS, periodBounds, type DiscrepancyKind, type ReconciliationCounts, type ReconciliationInput, type ReconciliationOptions, type ReconciliationPhase, type ReconciliationStatus } from '../domain/reconciliation';

/** The ledger has taken the money. */
const SETTLED = ['succeeded', 'partially_refunded', 'refunded'] as const;
/** The ledger is still waiting for the payer or the provider: a provider that moved on explains it. */
const IN_FLIGHT = ['created', 'requires_action', 'processing', 'requires_capture'] as const;
const PROVIDER_LEG: DiscrepancyKind[] = ['missing_in_ledger', 'missing_at_provider', 'amount_mismatch', 'currency_mismatch', 'status_mismatch'];

/** Transactions are fetched this much beyond the period on both sides, so a capture at midnight is not lost between two runs. */
export const FETCH_SLACK_MS = 2 * 3_600_000;

const list = (values: readonly string[]) => sql.join(values.map((value) => sql`${value}`), sql`, `);

export interface RunRow {
  id: string;
  temporalRunId: string;
  provider: string;
  periodFrom: string;
  periodTo: string;
  trigger: string;
  status: ReconciliationStatus;
  phase: string;
  pages: number;
  transactionsFetched: number;
  ledgerPayments: number;
  matched: number;
  discrepancies: number;
  healable: number;
  healed: number;
  counts: unknown;
  details: unknown;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export type DiscrepancyRow = typeof reconciliationDiscrepancies.$inferSelect;

export interface MatchResult {
  ledgerPayments: number;
  matched: number;
  discrepancies: number;
  byKind: Partial<Record<DiscrepancyKind, number>>;
  healable: number;
}

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

export function createReconciliationStore(db: Database) {
  const countsOf = async (runId: string) => {
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
  };

  return {
    /**
     * Opens the run's row. The same Temporal run retrying keeps what it wrote; a new run of the same
     * id (a period reconciled again) starts from empty rows.
     */
    async beginRun(input: {
      runId: string;
      temporalRunId: string;
      provider: ProviderName;
      from: string;
      to: string;
      trigger: ReconciliationInput['trigger'];
      options: ReconciliationOptions;
    }): Promise<void> {
      await db.transaction(async (tx) => {
        const [existing] = await tx
          .select({ temporalRunId: reconciliationRuns.temporalRunId })
          .from(reconciliationRuns)
          .where(eq(reconciliationRuns.id, input.runId))
          .for('update');
        if (existing?.temporalRunId === input.temporalRunId) return;
        if (existing) await tx.delete(reconciliationRuns).where(eq(reconciliationRuns.id, input.runId));
        await tx.insert(reconciliationRuns).values({
          id: input.runId,
          temporalRunId: input.temporalRunId,
          provider: input.provider,
          periodFrom: input.from,
          periodTo: input.to,
          trigger: input.trigger,
          status: 'running',
          phase: 'starting',
          details: { options: input.options, fetchAttempts: [] },
        });
      });
    },

    async setPhase(runId: string, phase: ReconciliationPhase): Promise<void> {
      await db.update(reconciliationRuns).set({ phase, updatedAt: sql`now()` }).where(eq(reconciliationRuns.id, runId));
    },

    /** One entry per attempt of the fetch: where it started (0 = the first page, k = resumed after page k). */
    async recordFetchAttempt(runId: string, attempt: { attempt: number; resumedAfterPage: number; at: string }): Promise<void> {
      await db.execute(sql`
        update reconciliation_runs
           set details = jsonb_set(details, '{fetchAttempts}', coalesce(details->'fetchAttempts', '[]'::jsonb) || ${JSON.stringify(attempt)}::jsonb),
               phase = 'fetching', updated_at = now()
         where id = ${runId}`);
    },

    /**
     * Stores one page. Transactions already staged (a page fetched again after a resumed crash) are
     * skipped, and only the new ones are counted, in the same database transaction.
     */
    async stagePage(runId: string, page: number, transactions: ProviderTransaction[], period: { start: string; end: string }): Promise<number> {
      // A page may list the same transaction twice (a provider's own overlap): keep the first.
      const unique = [...new Map(transactions.map((txn) => [txn.transactionId, txn])).values()];
      const rows = unique.map((txn) => ({
        transaction_id: txn.transactionId,
        type: txn.type,
        amount: txn.amount,
        currency: txn.currency.toUpperCase(),
        status: txn.status,
        settlement: txn.settlement,
        expected_settlement_at: txn.expectedSettlementAt ?? null,
        occurred_at: txn.occurredAt,
        payment_id: txn.paymentId ?? null,
        provider_reference: txn.providerReference ?? null,
        merchant_reference: txn.merchantReference ?? null,
        related_transaction_id: txn.relatedTransactionId ?? null,
        evidence: txn.evidence ?? null,
      }));
      // One statement (one JSON parameter, one commit): the insert and the run's counters move
      // together, and only rows new to the run are counted.
      const [result] = await db.execute<{ inserted: number }>(sql`
        with input as (
          select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(
            transaction_id text, type text, amount bigint, currency text, status text, settlement text,
            expected_settlement_at timestamptz, occurred_at timestamptz, payment_id text, provider_reference text,
            merchant_reference text, related_transaction_id text, evidence jsonb)),
        inserted as (
          insert into reconciliation_transactions
            (run_id, transaction_id, type, amount, currency, status, settlement, expected_settlement_at, occurred_at, in_period,
             payment_id, provider_reference, merchant_reference, related_transaction_id, page, evidence)
          select ${runId}, transaction_id, type, amount, currency, status, settlement, expected_settlement_at, occurred_at,
                 occurred_at >= ${period.start}::timestamptz and occurred_at < ${period.end}::timestamptz,
                 payment_id, provider_reference, merchant_reference, related_transaction_id, ${page}, evidence
            from input
          on conflict do nothing
          returning 1)
        update reconciliation_runs
           set pages = greatest(pages, ${page}), transactions_fetched = transactions_fetched + (select count(*) from inserted),
               phase = 'fetching', updated_at = now()
         where id = ${runId}
        returning (select count(*)::int from inserted) as inserted`);
      return result?.inserted ?? 0;
    },

    async stagedCount(runId: string): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(reconciliationTransactions).where(eq(reconciliationTransactions.runId, runId));
      return row?.n ?? 0;
    },

    /**
     * The three-way match, in one database transaction: resolve each staged transaction to a
     * ledger payment, then write every discrepancy of the run (its earlier ones are replaced).
     */
    async match(input: { runId: string; provider: ProviderName; from: string; to: string; checkBookings: boolean; asOf: string }): Promise<MatchResult> {
      const { runId, provider } = input;
      const { start, end } = periodBounds(input.from, input.to);
      const asOf = input.asOf;
      const settled = list(SETTLED);
      const inFlight = list(IN_FLIGHT);
      const normalizedReference = sql`left(regexp_replace(p.reference, '[^a-zA-Z0-9]', '', 'g'), 35)`;

      await db.transaction(async (tx) => {
        await tx.execute(sql`delete from reconciliation_discrepancies where run_id = ${runId}`);
        await tx.execute(sql`update reconciliation_transactions set resolved_payment_id = null where run_id = ${runId} and resolved_payment_id is not null`);

        // ── Resolve provider transactions to ledger payments ───────────────────────────────────
        // By Skerry's payment id (PayPal custom_id, Stripe metadata), then by the provider's own
        // reference (PaymentIntent, ePayment reference), both through unique indexes.
        await tx.execute(sql`
          update reconciliation_transactions t set resolved_payment_id = p.id
            from payments p
           where t.run_id = ${runId} and t.payment_id is not null and p.id = t.payment_id and p.provider = ${provider}`);
        await tx.execute(sql`
          update reconciliation_transactions t set resolved_payment_id = p.id
            from payments p
           where t.run_id = ${runId} and t.resolved_payment_id is null and t.provider_reference is not null
             and p.provider = ${provider} and p.provider_reference = t.provider_reference`);
        // By the merchant's reference (Swish's bank report knows the payee payment reference, not
        // the payment request): paired in time order per reference, so two payments of one booking
        // on one day pair one to one. Only payments that can have moved money are candidates.
        await tx.execute(sql`
          with txns as (
            select transaction_id, merchant_reference,
                   row_number() over (partition by merchant_reference order by occurred_at, transaction_id) as rn
              from reconciliation_transactions
             where run_id = ${runId} and resolved_payment_id is null and merchant_reference is not null and type = 'payment'),
          ledger as (
            select p.id, ${normalizedReference} as ref,
                   row_number() over (partition by ${normalizedReference} order by p.created_at, p.id) as rn
              from payments p
             where p.provider = ${provider}
               and p.created_at >= ${start}::timestamptz - interval '3 days' and p.created_at < ${end}::timestamptz + interval '2 hours'
               and p.status in (${settled}, ${inFlight})
               and not exists (select 1 from reconciliation_transactions x where x.run_id = ${runId} and x.resolved_payment_id = p.id))
          update reconciliation_transactions r set resolved_payment_id = ledger.id
            from txns join ledger on ledger.ref = txns.merchant_reference and ledger.rn = txns.rn
           where r.run_id = ${runId} and r.transaction_id = txns.transaction_id`);
        // A refund names the payment transaction it returns (Swish's originalPaymentReference)…
        await tx.execute(sql`
          update reconciliation_transactions r set resolved_payment_id = o.resolved_payment_id
            from reconciliation_transactions o
           where r.run_id = ${runId} and o.run_id = ${runId} and r.resolved_payment_id is null
             and r.related_transaction_id is not null and o.transaction_id = r.related_transaction_id and o.resolved_payment_id is not null`);
        // …or, when that payment was in an earlier period, the latest paid payment with its reference.
        await tx.execute(sql`
          update reconciliation_transactions r
             set resolved_payment_id = (
               select p.id from payments p
                where p.provider = ${provider} and ${normalizedReference} = r.merchant_reference and p.amount_captured > 0
                order by p.created_at desc limit 1)
           where r.run_id = ${runId} and r.resolved_payment_id is null and r.type = 'refund' and r.merchant_reference is not null`);

        // ── What each side says ────────────────────────────────────────────────────────────────
        // Ledger payments that took money in the period: captured then by the ledger's own event
        // log (a hold captured days later belongs to the day of its capture), or created then.
        await tx.execute(sql`
          create temp table recon_ledger on commit drop as
          select p.id, p.status, p.reference, p.currency, p.amount, p.amount_captured, p.amount_refunded, p.provider_reference,
                 coalesce(c.captured_at, p.created_at) as captured_at
            from payments p
            left join lateral (
              select min(e.occurred_at) as captured_at from payment_events e
               where e.payment_id = p.id and e.status_after in (${settled})) c on true
           where p.provider = ${provider} and p.amount_captured > 0 and p.created_at < ${end}::timestamptz and p.updated_at >= ${start}::timestamptz
             and coalesce(c.captured_at, p.created_at) >= ${start}::timestamptz and coalesce(c.captured_at, p.created_at) < ${end}::timestamptz`);
        // The provider's account per payment: money captured and refunded, currencies, settlement.
        await tx.execute(sql`
          create temp table recon_agg on commit drop as
          select t.resolved_payment_id as pid,
                 coalesce(sum(t.amount) filter (where t.type = 'payment' and t.status in ('succeeded', 'pending')), 0)::bigint as captured,
                 coalesce(-sum(t.amount) filter (where t.type = 'refund' and t.status = 'succeeded'), 0)::bigint as refunded,
                 bool_or(t.type = 'payment' and t.in_period) as payment_in_period,
                 bool_or(t.in_period) as any_in_period,
                 bool_or(t.type = 'payment' and t.status in ('failed', 'reversed')) as payment_failed,
                 bool_or(t.type = 'payment' and t.status in ('succeeded', 'pending') and t.settlement = 'pending'
                         and (t.expected_settlement_at is null or t.expected_settlement_at < ${asOf}::timestamptz)) as unsettled,
                 array_agg(distinct t.currency) as currencies,
                 (array_agg(t.transaction_id order by t.occurred_at, t.transaction_id))[1:5] as transaction_ids,
                 (array_agg(t.status order by t.occurred_at desc, t.transaction_id))[1] as latest_status
            from reconciliation_transactions t
           where t.run_id = ${runId} and t.resolved_payment_id is not null and t.type in ('payment', 'refund')
           group by t.resolved_payment_id`);
        await tx.execute(sql`alter table recon_agg add primary key (pid)`);

        // ── Provider leg ───────────────────────────────────────────────────────────────────────
        await tx.execute(sql`
          insert into reconciliation_discrepancies
            (run_id, kind, transaction_id, payment_id, provider_reference, provider_status, provider_amount, currency, evidence)
          select ${runId}, 'missing_in_ledger', t.transaction_id, t.payment_id, t.provider_reference, t.status, t.amount, t.currency,
                 jsonb_build_object(
                   'explanation', 'the provider lists this ' || t.type || ' but no ledger payment matches it',
                   'transaction', jsonb_build_object('id', t.transaction_id, 'type', t.type, 'amount', t.amount, 'currency', t.currency,
                                                     'status', t.status, 'occurredAt', t.occurred_at, 'paymentId', t.payment_id,
                                                     'providerReference', t.provider_reference, 'merchantReference', t.merchant_reference),
                   'provider', t.evidence)
            from reconciliation_transactions t
           where t.run_id = ${runId} and t.in_period and t.resolved_payment_id is null
             and t.type in ('payment', 'refund') and t.status in ('succeeded', 'pending')`);

        await tx.execute(sql`
          insert into reconciliation_discrepancies
            (run_id, kind, payment_id, provider_reference, ledger_status, provider_status, ledger_amount, provider_amount, currency, evidence, healable)
          select ${runId}, v.kind, p.id, p.provider_reference, p.status, a.latest_status, v.ledger_amount, v.provider_amount, p.currency,
                 jsonb_build_object(
                   'reason', v.reason, 'explanation', v.explanation,
                   'ledger', jsonb_build_object('status', p.status, 'amount', p.amount, 'amountCaptured', p.amount_captured,
                                                'amountRefunded', p.amount_refunded, 'currency', p.currency),
                   'provider', jsonb_build_object('captured', a.captured, 'refunded', a.refunded, 'currencies', to_jsonb(a.currencies),
                                                  'transactions', to_jsonb(a.transaction_ids), 'latestStatus', a.latest_status),
                   'providerRefunded', a.refunded),
                 v.kind = 'status_mismatch' and v.reason in ('lost_payment_webhook', 'lost_refund_webhook')
            from recon_agg a
            join payments p on p.id = a.pid
            cross join lateral (
              select case
                when exists (select 1 from unnest(a.currencies) c where c <> upper(p.currency)) then 'currency_differs'
                when a.captured > 0 and a.captured <> (case when p.amount_captured > 0 then p.amount_captured else p.amount end) then 'amount_differs'
                when a.captured > 0 and p.status in (${inFlight}) then 'lost_payment_webhook'
                when a.captured > 0 and p.status not in (${settled}) then 'money_moved_on_closed_payment'
                when a.refunded > p.amount_refunded and p.status in ('succeeded', 'partially_refunded') then 'lost_refund_webhook'
                when a.refunded > p.amount_refunded then 'refund_on_closed_payment'
                when a.payment_failed and a.captured = 0 and p.status in (${settled}) then 'provider_reports_failure'
              end as reason
            ) r
            cross join lateral (
              select case r.reason
                when 'currency_differs' then 'currency_mismatch'
                when 'amount_differs' then 'amount_mismatch'
                else case when r.reason is null then null else 'status_mismatch' end
              end as kind,
              r.reason,
              case r.reason
                when 'currency_differs' then 'the provider settled in ' || array_to_string(a.currencies, ', ') || '; the ledger payment is in ' || p.currency
                when 'amount_differs' then 'the provider captured ' || a.captured || '; the ledger says ' || (case when p.amount_captured > 0 then p.amount_captured else p.amount end)
                when 'lost_payment_webhook' then 'the provider captured the payment; the ledger still says ' || p.status || ' (a lost webhook)'
                when 'money_moved_on_closed_payment' then 'the provider captured money on a payment the ledger closed as ' || p.status
                when 'lost_refund_webhook' then 'the provider refunded ' || a.refunded || '; the ledger knows of ' || p.amount_refunded || ' (a lost webhook)'
                when 'refund_on_closed_payment' then 'the provider refunded ' || a.refunded || ' on a payment the ledger closed as ' || p.status || ' with ' || p.amount_refunded || ' refunded'
                when 'provider_reports_failure' then 'the provider reports the payment failed or reversed; the ledger says ' || p.status
              end as explanation,
              case when p.amount_captured > 0 then p.amount_captured else p.amount end as ledger_amount,
              case when a.captured > 0 then a.captured else a.refunded end as provider_amount
            ) v
           where a.any_in_period and v.kind is not null`);

        await tx.execute(sql`
          insert into reconciliation_discrepancies
            (run_id, kind, payment_id, provider_reference, ledger_status, ledger_amount, currency, evidence)
          select ${runId}, 'missing_at_provider', l.id, l.provider_reference, l.status, l.amount_captured, l.currency,
                 jsonb_build_object(
                   'explanation', 'the ledger took money in the period; the provider lists no transaction for it',
                   'ledger', jsonb_build_object('status', l.status, 'amountCaptured', l.amount_captured, 'amountRefunded', l.amount_refunded,
                                                'currency', l.currency, 'capturedAt', l.captured_at, 'providerReference', l.provider_reference))
            from recon_ledger l
           where not exists (select 1 from reconciliation_transactions t where t.run_id = ${runId} and t.resolved_payment_id = l.id and t.type = 'payment')`);

        // ── Booking leg ────────────────────────────────────────────────────────────────────────
        if (input.checkBookings) {
          await tx.execute(sql`
            insert into reconciliation_discrepancies (run_id, kind, payment_id, provider_reference, ledger_status, ledger_amount, currency, evidence)
            select ${runId}, 'payment_without_booking', l.id, l.provider_reference, l.status, l.amount_captured, l.currency,
                   jsonb_build_object(
                     'explanation', 'the ledger took money for no booking: no reservation names this payment or its reference',
                     'ledger', jsonb_build_object('reference', l.reference, 'status', l.status, 'amountCaptured', l.amount_captured))
              from recon_ledger l
             where not exists (select 1 from reservations r where r.payment_id = l.id)
               and not exists (select 1 from reservations r where r.id = l.reference)`);
          await tx.execute(sql`
            insert into reconciliation_discrepancies
              (run_id, kind, payment_id, reservation_id, provider_reference, ledger_status, provider_status, ledger_amount, provider_amount, currency, evidence)
            select ${runId}, 'booking_not_settled', p.id, r.id, p.provider_reference, p.status, 'unsettled', p.amount_captured, a.captured, p.currency,
                   jsonb_build_object(
                     'explanation', 'the booking is paid and the provider captured the money, but has not settled it by its settlement date',
                     'reservation', jsonb_build_object('id', r.id, 'status', r.status, 'checkIn', r.check_in, 'checkOut', r.check_out),
                     'provider', jsonb_build_object('transactions', to_jsonb(a.transaction_ids), 'captured', a.captured))
              from recon_agg a
              join payments p on p.id = a.pid
              join reservations r on r.payment_id = p.id and r.status = 'confirmed'
             where a.any_in_period and a.unsettled and p.status in (${settled})`);
        }

        // ── Counts ─────────────────────────────────────────────────────────────────────────────
        const providerLeg = list(PROVIDER_LEG);
        const [ledgerRow] = await tx.execute<{ ledger: number; matched: number }>(sql`
          select (select count(*)::int from recon_ledger) as ledger,
                 (select count(*)::int from recon_agg a
                   where a.payment_in_period
                     and not exists (select 1 from reconciliation_discrepancies d
                                      where d.run_id = ${runId} and d.payment_id = a.pid and d.kind in (${providerLeg}))) as matched`);
        await tx.execute(sql`
          update reconciliation_runs
             set ledger_payments = ${ledgerRow?.ledger ?? 0}, matched = ${ledgerRow?.matched ?? 0}, healed = 0, phase = 'matching', updated_at = now()
           where id = ${runId}`);
      });

      const counts = await countsOf(runId);
      const [run] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
      await db
        .update(reconciliationRuns)
        .set({ discrepancies: counts.total, healable: counts.healable, counts: counts.byKind, updatedAt: sql`now()` })
        .where(eq(reconciliationRuns.id, runId));
      return { ledgerPayments: run?.ledgerPayments ?? 0, matched: run?.matched ?? 0, discrepancies: counts.total, byKind: counts.byKind, healable: counts.healable };
    },

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
      const settled = list(SETTLED);
      await db.execute(sql`
        update reconciliation_discrepancies d set healed = true, healed_at = now(), heal_result = 'healed'
          from payments p
         where d.run_id = ${runId} and d.healable and not d.healed and d.heal_result = 'signalled' and p.id = d.payment_id
           and ((d.evidence->>'reason' = 'lost_payment_webhook' and p.status in (${settled}))
             or (d.evidence->>'reason' = 'lost_refund_webhook' and p.amount_refunded >= (d.evidence->>'providerRefunded')::bigint))`);
      const counts = await countsOf(runId);
      const [pending] = await db.execute<{ n: number }>(sql`
        select count(*)::int as n from reconciliation_discrepancies where run_id = ${runId} and heal_result = 'signalled' and not healed`);
      await db.update(reconciliationRuns).set({ healed: counts.healed, updatedAt: sql`now()` }).where(eq(reconciliationRuns.id, runId));
      return { healed: counts.healed, pending: pending?.n ?? 0, signalled: counts.signalled };
    },

    async finishRun(runId: string, outcome: { status: ReconciliationStatus; error?: string }): Promise<void> {
      const counts = await countsOf(runId);
      await db
        .update(reconciliationRuns)
        .set({
          status: outcome.status,
          phase: 'done',
          error: outcome.error ?? null,
          discrepancies: counts.total,
          healable: counts.healable,
          healed: counts.healed,
          counts: counts.byKind,
          finishedAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(eq(reconciliationRuns.id, runId));
    },

    async getRun(runId: string): Promise<RunRow | undefined> {
      const [row] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
      return row as RunRow | undefined;
    },

    async listRuns(filter: { provider?: string; limit?: number } = {}): Promise<RunRow[]> {
      const rows = await db
        .select()
        .from(reconciliationRuns)
        .where(filter.provider ? eq(reconciliationRuns.provider, filter.provider) : undefined)
        .orderBy(desc(reconciliationRuns.periodFrom), desc(reconciliationRuns.startedAt))
        .limit(filter.limit ?? 50);
      return rows as RunRow[];
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

    countsOf,
  };
}

export type ReconciliationStore = ReturnType<typeof createReconciliationStore>;

/** The run as the API and the CLI show it. */
export function runView(row: RunRow) {
  const byKind = (row.counts ?? {}) as Partial<Record<DiscrepancyKind, number>>;
  const counts: ReconciliationCounts = {
    pages: row.pages,
    transactions: row.transactionsFetched,
    ledgerPayments: row.ledgerPayments,
    matched: row.matched,
    discrepancies: row.discrepancies,
    byKind: Object.fromEntries(DISCREPANCY_KINDS.filter((kind) => byKind[kind]).map((kind) => [kind, byKind[kind]!])),
    healable: row.healable,
    healSignalled: 0,
    healed: row.healed,
  };
  const details = (row.details ?? {}) as { fetchAttempts?: unknown[]; options?: unknown };
  return {
    id: row.id,
    workflowId: row.id,
    provider: row.provider,
    from: row.periodFrom,
    to: row.periodTo,
    trigger: row.trigger,
    status: row.status,
    phase: row.phase,
    counts,
    fetchAttempts: details.fetchAttempts ?? [],
    options: details.options ?? {},
    error: row.error,
    startedAt: row.startedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export type ReconciliationRunView = ReturnType<typeof runView>;
