// The durable webhook inbox: rows are written before the provider gets its 2xx and leave
// `pending` only once the event reached its workflow (or can never be routed).
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { payments, webhookInbox, type WebhookInboxStatus } from '../../db/schema';
import type { VerifiedWebhookEvent } from '../../providers/types';

export type InboxRow = typeof webhookInbox.$inferSelect;

export interface InboxDelivery {
  delivery: VerifiedWebhookEvent['delivery'];
  observation?: VerifiedWebhookEvent['observation'];
  adopt?: VerifiedWebhookEvent['adopt'];
}

/** A row claimed by one deliverer is invisible to others for this long (crash recovery). */
const CLAIM_SECONDS = 30;

export function createWebhookInbox(db: Database) {
  return {
    /** Records events; returns the ids of rows new to the inbox (duplicates are counted, not re-added). */
    async record(events: VerifiedWebhookEvent[]): Promise<{ inserted: number[]; duplicates: number }> {
      if (events.length === 0) return { inserted: [], duplicates: 0 };
      const rows = await db
        .insert(webhookInbox)
        .values(
          events.map((event) => ({
            provider: event.provider,
            eventId: event.eventId,
            eventType: event.eventType,
            paymentId: event.paymentId ?? null,
            providerReference: event.providerReference ?? null,
            delivery: { delivery: event.delivery, observation: event.observation, adopt: event.adopt } satisfies InboxDelivery,
            payload: event.payload as object,
            status: (event.delivery === 'none' ? 'ignored' : 'pending') as WebhookInboxStatus,
          })),
        )
        .onConflictDoUpdate({
          target: [webhookInbox.provider, webhookInbox.eventId],
          set: { duplicates: sql`${webhookInbox.duplicates} + 1` },
        })
        .returning({ id: webhookInbox.id, status: webhookInbox.status, inserted: sql<boolean>`(xmax = 0)` });
      const inserted = rows.filter((row) => row.inserted && row.status === 'pending').map((row) => row.id);
      return { inserted, duplicates: rows.filter((row) => !row.inserted).length };
    },

    async claim(id: number): Promise<InboxRow | undefined> {
      const [row] = await db
        .update(webhookInbox)
        .set({ lockedUntil: sql`now() + make_interval(secs => ${CLAIM_SECONDS})`, attempts: sql`${webhookInbox.attempts} + 1` })
        .where(
          and(
            eq(webhookInbox.id, id),
            eq(webhookInbox.status, 'pending'),
            sql`(${webhookInbox.lockedUntil} is null or ${webhookInbox.lockedUntil} < now())`,
          ),
        )
        .returning();
      return row;
    },

    /** Claims due rows for a sweep; SKIP LOCKED lets several API processes sweep together. */
    async claimDue(limit: number): Promise<InboxRow[]> {
      return db.transaction(async (tx) => {
        const due = await tx
          .select({ id: webhookInbox.id })
          .from(webhookInbox)
          .where(
            and(
              eq(webhookInbox.status, 'pending'),
              sql`${webhookInbox.nextAttemptAt} <= now()`,
              sql`(${webhookInbox.lockedUntil} is null or ${webhookInbox.lockedUntil} < now())`,
            ),
          )
          .orderBy(webhookInbox.id)
          .limit(limit)
          .for('update', { skipLocked: true });
        if (due.length === 0) return [];
        return tx
          .update(webhookInbox)
          .set({ lockedUntil: sql`now() + make_interval(secs => ${CLAIM_SECONDS})`, attempts: sql`${webhookInbox.attempts} + 1` })
          .where(sql`${webhookInbox.id} in ${due.map((row) => row.id)}`)
          .returning();
      });
    },

    async settle(id: number, status: Exclude<WebhookInboxStatus, 'pending'>, paymentId?: string, note?: string): Promise<void> {
      await db
        .update(webhookInbox)
        .set({ status, deliveredAt: sql`now()`, lockedUntil: null, lastError: note ?? null, ...(paymentId ? { paymentId } : {}) })
        .where(eq(webhookInbox.id, id));
    },

    async retryLater(id: number, attempts: number, error: string): Promise<void> {
      const delaySeconds = Math.min(60, 0.5 * 2 ** Math.min(attempts, 8));
      await db
        .update(webhookInbox)
        .set({ lockedUntil: null, lastError: error.slice(0, 2000), nextAttemptAt: sql`now() + make_interval(secs => ${delaySeconds})` })
        .where(eq(webhookInbox.id, id));
    },

    /** Makes rows deliverable again (operator replay). */
    async requeue(filter: { ids?: number[]; provider?: string; fromId?: number; toId?: number }): Promise<number> {
      const conditions = [sql`true`];
      if (filter.ids?.length) conditions.push(sql`${webhookInbox.id} in ${filter.ids}`);
      if (filter.provider) conditions.push(eq(webhookInbox.provider, filter.provider));
      if (filter.fromId !== undefined) conditions.push(sql`${webhookInbox.id} >= ${filter.fromId}`);
      if (filter.toId !== undefined) conditions.push(sql`${webhookInbox.id} <= ${filter.toId}`);
      const rows = await db
        .update(webhookInbox)
        .set({ status: 'pending', nextAttemptAt: sql`now()`, lockedUntil: null })
        .where(and(...conditions, sql`${webhookInbox.status} <> 'ignored'`))
        .returning({ id: webhookInbox.id });
      return rows.length;
    },

    async findPaymentIdByProviderReference(provider: string, providerReference: string): Promise<string | undefined> {
      const [row] = await db
        .select({ id: payments.id })
        .from(payments)
        .where(and(eq(payments.provider, provider), eq(payments.providerReference, providerReference)))
        .limit(1);
      return row?.id;
    },

    async paymentExists(paymentId: string): Promise<boolean> {
      const [row] = await db.select({ id: payments.id }).from(payments).where(eq(payments.id, paymentId)).limit(1);
      return Boolean(row);
    },

    async list(options: { limit?: number; status?: WebhookInboxStatus; provider?: string } = {}): Promise<InboxRow[]> {
      const conditions = [sql`true`];
      if (options.status) conditions.push(eq(webhookInbox.status, options.status));
      if (options.provider) conditions.push(eq(webhookInbox.provider, options.provider));
      return db
        .select()
        .from(webhookInbox)
        .where(and(...conditions))
        .orderBy(sql`${webhookInbox.id} desc`)
        .limit(options.limit ?? 50);
    },
  };
}

export type WebhookInbox = ReturnType<typeof createWebhookInbox>;
