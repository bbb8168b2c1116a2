// The durable webhook inbox: rows are written before the provider gets its 2xx and leave
// `pending` only once the event reached its workflow (or can never be routed).
import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { payments, webhookInbox, type WebhookInboxStatus } from '../../db/schema';
import type { VerifiedWebhookEvent } from '../../providers/types';
import { createBatcher } from '../../db/batch';

export type InboxRow = typeof webhookInbox.$inferSelect;
/** What delivery needs of a row: everything but the provider's raw payload. */
export type DeliverableRow = Omit<InboxRow, 'payload'>;
const { payload: _payload, ...deliverableColumns } = getTableColumns(webhookInbox);

export interface InboxDelivery {
  delivery: VerifiedWebhookEvent['delivery'];
  /** A booking channel's reservation message (delivery `reservation`). */
  reservation?: VerifiedWebhookEvent['reservation'];
  observation?: VerifiedWebhookEvent['observation'];
  adopt?: VerifiedWebhookEvent['adopt'];
}

/** A row claimed by one deliverer is invisible to others for this long (crash recovery). */
const CLAIM_SECONDS = 30;

type NewInboxRow = typeof webhookInbox.$inferInsert;

export function createWebhookInbox(db: Database) {
  // Concurrent webhooks share one INSERT (group commit); the row comes back already claimed by
  // this process, so its immediate delivery needs no second round trip.
  const insert = createBatcher<NewInboxRow, { row: DeliverableRow; inserted: boolean }>(async (rows) => {
    const key = (row: Pick<NewInboxRow, 'provider' | 'eventId'>) => `${row.provider}\u0000${row.eventId}`;
    const unique = new Map<string, NewInboxRow & { duplicates: number }>();
    for (const row of rows) {
      const seen = unique.get(key(row));
      if (seen) seen.duplicates += 1;
      else unique.set(key(row), { ...row, duplicates: 0 });
    }
    const written = await db
      .insert(webhookInbox)
      .values([...unique.values()])
      .onConflictDoUpdate({
        target: [webhookInbox.provider, webhookInbox.eventId],
        set: { duplicates: sql`${webhookInbox.duplicates} + excluded.duplicates + 1` },
      })
      .returning({ ...deliverableColumns, inserted: sql<boolean>`(xmax = 0)` });
    const byKey = new Map(written.map(({ inserted, ...row }) => [key(row), { row, inserted }]));
    const firstSeen = new Set<string>();
    return rows.map((row) => {
      const entry = byKey.get(key(row))!;
      // Within one batch only the first copy of an event counts as new.
      const inserted = entry.inserted && !firstSeen.has(key(row));
      firstSeen.add(key(row));
      return { row: entry.row, inserted };
    });
  });

  const settleBatch = createBatcher<{ id: number; status: string; paymentId?: string; note?: string }, void>(async (items) => {
    const values = sql.join(
      items.map((item) => sql`(${item.id}::bigint, ${item.status}::text, ${item.paymentId ?? null}::text, ${item.note ?? null}::text)`),
      sql`, `,
    );
    await db.execute(sql`
      update ${webhookInbox} as w
         set status = v.status, delivered_at = now(), locked_until = null, last_error = v.note,
             payment_id = coalesce(v.payment_id, w.payment_id)
        from (values ${values}) as v(id, status, payment_id, note)
       where w.id = v.id`);
    return items.map(() => undefined);
  });

  return {
    /** Records events durably; returns the rows new to the inbox (claimed for delivery) and the duplicate count. */
    async record(events: VerifiedWebhookEvent[]): Promise<{ inserted: DeliverableRow[]; duplicates: number }> {
      if (events.length === 0) return { inserted: [], duplicates: 0 };
      const results = await Promise.all(
        events.map((event) => {
          const deliverable = event.delivery !== 'none';
          return insert({
            provider: event.provider,
            eventId: event.eventId,
            eventType: event.eventType,
            paymentId: event.paymentId ?? null,
            providerReference: event.providerReference ?? null,
            delivery: { delivery: event.delivery, observation: event.observation, adopt: event.adopt, reservation: event.reservation } satisfies InboxDelivery,
            payload: event.payload as object,
            status: deliverable ? 'pending' : 'ignored',
            ...(deliverable ? { lockedUntil: sql`now() + make_interval(secs => ${CLAIM_SECONDS})`, attempts: 1 } : {}),
          } as NewInboxRow);
        }),
      );
      return {
        inserted: results.filter((result) => result.inserted && result.row.status === 'pending').map((result) => result.row),
        duplicates: results.filter((result) => !result.inserted).length,
      };
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
      await settleBatch({ id, status, paymentId, note });
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

    async list(
      options: { limit?: number; status?: WebhookInboxStatus; provider?: string; ids?: number[]; fromId?: number; toId?: number } = {},
    ): Promise<InboxRow[]> {
      const conditions = [sql`true`];
      if (options.status) conditions.push(eq(webhookInbox.status, options.status));
      if (options.provider) conditions.push(eq(webhookInbox.provider, options.provider));
      if (options.ids?.length) conditions.push(sql`${webhookInbox.id} in ${options.ids}`);
      if (options.fromId !== undefined) conditions.push(sql`${webhookInbox.id} >= ${options.fromId}`);
      if (options.toId !== undefined) conditions.push(sql`${webhookInbox.id} <= ${options.toId}`);
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
