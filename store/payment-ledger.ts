// The payment ledger in Postgres, written by the payment workflow through activities. The one
// other writer is webhook delivery, which adds to a payment's timeline an observation it judged to
// change nothing (recordIgnored) instead of sending it to the workflow.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { createBatcher } from '../db/batch';
import { paymentEvents, payments } from '../db/schema';
import { paymentWorkflowId } from '../domain/workflow-ids';
import { type CaptureMethod, type PaymentEventRecord, type PaymentObservation, type PaymentState, type PaymentStatus, type ProviderName } from '../domain/payments';

type PaymentRow = typeof payments.$inferSelect;

/**
 * A ledger row as the payment state it recorded. What the row does not keep (refunds one by one,
 * the next action, the event ids seen) is left empty: a judgement against it then sees a change.
 */
function recordedState(row: PaymentRow): PaymentState {
  return {
    paymentId: row.id,
    provider: row.provider as ProviderName,
    reference: row.reference,
    description: row.description ?? undefined,
    captureMethod: row.captureMethod as CaptureMethod,
    amount: { value: row.amount, currency: row.currency },
    status: row.status as PaymentStatus,
    providerReference: row.providerReference ?? undefined,
    amountAuthorized: row.amountAuthorized,
    amountCaptured: row.amountCaptured,
    amountRefunded: row.amountRefunded,
    refunds: {},
    failureReason: row.failureReason ?? undefined,
    commandCounts: { capture: 0, refund: 0 },
    events: [],
    seenEventIds: [],
    revision: row.revision,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function createPaymentLedger(db: Database) {
  // Every webhook reads its payment's row once: concurrent reads share one statement, as the inbox's writes do.
  const readRows = createBatcher<string, PaymentRow | undefined>(async (ids) => {
    const rows = await db.select().from(payments).where(inArray(payments.id, [...new Set(ids)]));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id));
  });
  // The status an ignored event shows is the ledger's when it is written, read in the same
  // statement under the payment row's lock: a ledger write in progress (it locks the row before it
  // adds its events) finishes first, so every event before this one has a status at most that and
  // every later one at least, and the timeline never seems to move backwards.
  const insertIgnored = createBatcher<{ paymentId: string; observation: PaymentObservation }, void>(async (items) => {
    const values = sql.join(
      items.map(
        ({ paymentId, observation }) =>
          sql`(${paymentId}::text, ${observation.eventId}::text, ${observation.source}::text, ${observation.providerEventType}::text, ${observation.occurredAt}::timestamptz)`,
      ),
      sql`, `,
    );
    await db.execute(sql`
      insert into ${paymentEvents} (payment_id, event_id, source, provider_event_type, status_before, status_after, applied, occurred_at)
      select v.payment_id, v.event_id, v.source, v.provider_event_type, p.status, p.status, 0, v.occurred_at
        from (values ${values}) as v(payment_id, event_id, source, provider_event_type, occurred_at)
        join ${payments} p on p.id = v.payment_id
         for share of p
      on conflict do nothing`);
    return items.map(() => undefined);
  });

  return {
    /** The state the ledger last recorded for a payment, or undefined when it has no row yet. */
    async recorded(paymentId: string): Promise<PaymentState | undefined> {
      const row = await readRows(paymentId);
      return row ? recordedState(row) : undefined;
    },

    /** The observations a payment's timeline has as ignored (`applied` 0), oldest first. */
    async ignoredEvents(paymentId: string): Promise<PaymentEventRecord[]> {
      const rows = await db
        .select()
        .from(paymentEvents)
        .where(and(eq(paymentEvents.paymentId, paymentId), eq(paymentEvents.applied, 0)))
        .orderBy(asc(paymentEvents.occurredAt), asc(paymentEvents.id));
      return rows.map((row) => ({
        eventId: row.eventId,
        source: row.source as PaymentEventRecord['source'],
        providerEventType: row.providerEventType,
        statusBefore: row.statusBefore as PaymentStatus,
        statusAfter: row.statusAfter as PaymentStatus,
        applied: false,
        occurredAt: row.occurredAt.toISOString(),
      }));
    },

    /**
     * Adds an observation to the payment's timeline as received and ignored (`applied` 0, at the
     * status the ledger has), as the workflow records a duplicate; the event id stays unique per payment.
     */
    async recordIgnored(paymentId: string, observation: PaymentObservation): Promise<void> {
      await insertIgnored({ paymentId, observation });
    },

    /** Idempotent: a retried write changes nothing, and an older revision never overwrites a newer one. */
    async record(state: PaymentState, events: PaymentEventRecord[]): Promise<void> {
      const row = {
        id: state.paymentId,
        workflowId: paymentWorkflowId(state.paymentId),
        provider: state.provider,
        status: state.status,
        reference: state.reference,
        description: state.description ?? null,
        captureMethod: state.captureMethod,
        currency: state.amount.currency,
        amount: state.amount.value,
        amountAuthorized: state.amountAuthorized,
        amountCaptured: state.amountCaptured,
        amountRefunded: state.amountRefunded,
        providerReference: state.providerReference ?? null,
        failureReason: state.failureReason ?? null,
        revision: state.revision,
        createdAt: new Date(state.createdAt),
        updatedAt: new Date(state.updatedAt),
      };
      await db.transaction(async (tx) => {
        await tx
          .insert(payments)
          .values(row)
          .onConflictDoUpdate({
            target: payments.id,
            set: {
              status: row.status,
              amountAuthorized: row.amountAuthorized,
              amountCaptured: row.amountCaptured,
              amountRefunded: row.amountRefunded,
              providerReference: row.providerReference,
              failureReason: row.failureReason,
              revision: row.revision,
              updatedAt: row.updatedAt,
              recordedAt: sql`now()`,
            },
            setWhere: sql`${payments.revision} <= excluded.revision`,
          });
        if (events.length > 0) {
          await tx
            .insert(paymentEvents)
            .values(
              events.map((event) => ({
                paymentId: state.paymentId,
                eventId: event.eventId,
                source: event.source,
                providerEventType: event.providerEventType,
                statusBefore: event.statusBefore,
                statusAfter: event.statusAfter,
                applied: event.applied ? 1 : 0,
                occurredAt: new Date(event.occurredAt),
              })),
            )
            .onConflictDoNothing();
        }
      });
    },
  };
}

export type PaymentLedger = ReturnType<typeof createPaymentLedger>;
