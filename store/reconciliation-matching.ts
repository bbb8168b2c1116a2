// The three-way match of a reconciliation run: set-based SQL, in one database transaction, that
// resolves the staged provider transactions to ledger payments and writes every discrepancy of the
// run. Every statement is idempotent per run: a retried activity writes the same rows again.
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { reconciliationRuns } from '../db/schema';
import type { ProviderName } from '../domain/payments';
import { periodBounds, type DiscrepancyKind } from '../domain/reconciliation';
import { countDiscrepancies } from './reconciliation-discrepancies';
import { IN_FLIGHT, SETTLED, sqlList } from './reconciliation-statuses';

const PROVIDER_LEG: DiscrepancyKind[] = ['missing_in_ledger', 'missing_at_provider', 'amount_mismatch', 'currency_mismatch', 'status_mismatch'];

export interface MatchResult {
  ledgerPayments: number;
  matched: number;
  discrepancies: number;
  byKind: Partial<Record<DiscrepancyKind, number>>;
  healable: number;
}

export function createReconciliationMatcher(db: Database) {
  return {
    /**
     * The three-way match, in one database transaction: resolve each staged transaction to a
     * ledger payment, then write every discrepancy of the run (its earlier ones are replaced).
     */
    async match(input: { runId: string; provider: ProviderName; from: string; to: string; checkBookings: boolean; asOf: string }): Promise<MatchResult> {
      const { runId, provider } = input;
      const { start, end } = periodBounds(input.from, input.to);
      const asOf = input.asOf;
      const settled = sqlList(SETTLED);
      const inFlight = sqlList(IN_FLIGHT);
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
                 v.kind = 'status_mismatch' and v.reason in ('lost_payment_webhook', 'lost_refund_webhook', 'money_moved_on_closed_payment')
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
        const providerLeg = sqlList(PROVIDER_LEG);
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

      const counts = await countDiscrepancies(db, runId);
      const [run] = await db.select().from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
      await db
        .update(reconciliationRuns)
        .set({ discrepancies: counts.total, healable: counts.healable, counts: counts.byKind, updatedAt: sql`now()` })
        .where(eq(reconciliationRuns.id, runId));
      return { ledgerPayments: run?.ledgerPayments ?? 0, matched: run?.matched ?? 0, discrepancies: counts.total, byKind: counts.byKind, healable: counts.healable };
    },
  };
}
