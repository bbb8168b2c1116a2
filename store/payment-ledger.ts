// The payment ledger in Postgres, written only by the payment workflow through activities.
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { paymentEvents, payments } from '../db/schema';
import { paymentWorkflowId } from '../domain/workflow-ids';
import { type PaymentEventRecord, type PaymentState } from '../domain/payments';

export function createPaymentLedger(db: Database) {
  return {
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
