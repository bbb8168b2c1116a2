// The durable webhook inbox: rows are written before the provider gets its 2xx and leave
// `received`/`pending` once the event reached its workflow, can never be routed, or delivery gave up
// (parked, failed) and waits for an operator's replay.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { DELIVERABLE_INBOX_STATUSES, GIVEN_UP_INBOX_STATUSES, payments, webhookInbox, type WebhookInboxStatus } from '../db/schema';
import type { VerifiedWebhookEvent } from '../domain/webhooks';
import { createBatcher } from '../db/batch';
import { redactWebhookPayload } from '../domain/payload-redaction';
import { PRUNABLE_INBOX_STATUSES } from '../domain/retention';

export type InboxRow = typeof webhookInbox.$inferSelect;
/** What delivery needs of a row: everything but the provider's raw payload. */
export type DeliverableRow = Omit<InboxRow, 'payload'>;

export interface InboxDelivery {
  delivery: VerifiedWebhookEvent['delivery'];
  /** A booking channel's reservation message (delivery `reservation`). */
  reservation?: VerifiedWebhookEvent['reservation'];
  observation?: VerifiedWebhookEvent['observation'];
  adopt?: VerifiedWebhookEvent['adopt'];
}

/** A row claimed by one deliverer is invisible to others for this long (crash recovery). */
const CLAIM_SECONDS = 30;

/**
 * The back-off before a failed delivery's next attempt: doubling from 0.5 s up to 60 s, of which
 * a random half is waived ("equal jitter") so a batch that failed at once does not retry at once.
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(60, 0.5 * 2 ** Math.min(attempts, 8));
  return ceiling / 2 + (ceiling / 2) * random();
}

interface NewInboxEvent {
  provider: string;
  eventId: string;
  eventType: string;
  paymentId: string | null;
  providerReference: string | null;
  delivery: InboxDelivery;
  payload: unknown;
  status: 'received' | 'ignored';
}

/** A returned row as the driver gives it (snake_case; bigint and timestamps as text). */
interface RawDeliverableRow {
  id: string;
  provider: string;
  event_id: string;
  event_type: string;
  payment_id: string | null;
  provider_reference: string | null;
  delivery: unknown;
  status: WebhookInboxStatus;
  attempts: number;
  last_error: string | null;
  received_at: string;
  next_attempt_at: string;
  locked_until: string | null;
  delivered_at: string | null;
  duplicates: number;
  inserted: boolean;
}

const INSERT_BATCH_SQL = `
  insert into webhook_inbox (provider, event_id, event_type, payment_id, provider_reference, delivery, payload, status, locked_until, attempts, duplicates)
  select r.provider, r.event_id, r.event_type, r.payment_id, r.provider_reference, r.delivery::jsonb, r.payload::jsonb, r.status,
         case when r.status = 'received' then now() + make_interval(secs => $10::int) end,
         case when r.status = 'received' then 1 else 0 end,
         r.duplicates::int
    from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         as r(provider, event_id, event_type, payment_id, provider_reference, delivery, payload, status, duplicates)
  on conflict (provider, event_id) do update set duplicates = webhook_inbox.duplicates + excluded.duplicates + 1
  returning id, provider, event_id, event_type, payment_id, provider_reference, delivery, status, attempts, last_error,
            received_at, next_attempt_at, locked_until, delivered_at, duplicates, (xmax = 0) as inserted`;

const timestamp = (value: string | null) => (value === null ? null : new Date(value));

function deliverableRow(row: Omit<RawDeliverableRow, 'inserted'>): DeliverableRow {
  return {
    id: Number(row.id),
    provider: row.provider,
    eventId: row.event_id,
    eventType: row.event_type,
    paymentId: row.payment_id,
    providerReference: row.provider_reference,
    delivery: row.delivery,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    receivedAt: new Date(row.received_at),
    nextAttemptAt: new Date(row.next_attempt_at),
    lockedUntil: timestamp(row.locked_until),
    deliveredAt: timestamp(row.delivered_at),
    duplicates: row.duplicates,
  };
}

export function createWebhookInbox(db: Database) {
  // Concurrent webhooks share one INSERT (group commit); the row comes back already claimed by
  // this process, so its immediate delivery needs no second round trip. The batch travels as one
  // array per column through unnest(): the statement text is the same for every batch size, and
  // building it costs nothing per row (per-row query building was a quarter of ingest CPU in B1).
  const client = db.$client;
  const insert = createBatcher<NewInboxEvent, { row: DeliverableRow; inserted: boolean }>(async (rows) => {
    const key = (row: Pick<NewInboxEvent, 'provider' | 'eventId'>) => `${row.provider}\u0000${row.eventId}`;
    const unique = new Map<string, NewInboxEvent & { duplicates: number }>();
    for (const row of rows) {
      const seen = unique.get(key(row));
      if (seen) seen.duplicates += 1;
      else unique.set(key(row), { ...row, duplicates: 0 });
    }
    const batch = [...unique.values()];
    const column = <T>(pick: (row: (typeof batch)[number]) => T) => batch.map(pick);
    const written = await client.unsafe<RawDeliverableRow[]>(INSERT_BATCH_SQL, [
      column((row) => row.provider),
      column((row) => row.eventId),
      column((row) => row.eventType),
      column((row) => row.paymentId),
      column((row) => row.providerReference),
      column((row) => JSON.stringify(row.delivery)),
      column((row) => JSON.stringify(row.payload)),
      column((row) => row.status),
      column((row) => String(row.duplicates)),
      String(CLAIM_SECONDS),
    ] as never[]);
    const byKey = new Map(written.map(({ inserted, ...row }) => [key({ provider: row.provider, eventId: row.event_id }), { row: deliverableRow(row), inserted }]));
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
            delivery: { delivery: event.delivery, observation: event.observation, adopt: event.adopt, reservation: event.reservation },
            // Kept for operators only: the allowlisted fields, never the payer's data or client secrets.
            payload: redactWebhookPayload(event.provider, event.payload),
            status: deliverable ? 'received' : 'ignored',
          });
        }),
      );
      return {
        inserted: results.filter((result) => result.inserted && result.row.status === 'received').map((result) => result.row),
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
            inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES]),
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
              inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES]),
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

    async settle(id: number, status: Exclude<WebhookInboxStatus, 'received' | 'pending' | 'parked' | 'failed'>, paymentId?: string, note?: string): Promise<void> {
      await settleBatch({ id, status, paymentId, note });
    },

    async retryLater(id: number, attempts: number, error: string): Promise<void> {
      // Jittered: rows that failed together (an outage) come back spread out, not as one burst.
      const delaySeconds = retryDelaySeconds(attempts);
      await db
        .update(webhookInbox)
        .set({ status: 'pending', lockedUntil: null, lastError: error.slice(0, 2000), nextAttemptAt: sql`now() + make_interval(secs => ${delaySeconds})` })
        // A slow attempt whose claim lapsed may find the row settled by another deliverer: leave it so.
        .where(and(eq(webhookInbox.id, id), inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES])));
    },

    /**
     * Stops delivering a row on its own: `failed` (errored too often) or `parked` (waited too long on
     * something outside Skerry). The row keeps its payload, attempts and last error for a replay.
     */
    async giveUp(id: number, status: 'parked' | 'failed', error: string): Promise<void> {
      await db
        .update(webhookInbox)
        .set({ status, lockedUntil: null, lastError: error.slice(0, 2000) })
        .where(and(eq(webhookInbox.id, id), inArray(webhookInbox.status, [...DELIVERABLE_INBOX_STATUSES])));
    },

    /** Makes rows deliverable again (operator replay). */
    async requeue(filter: { ids?: number[]; provider?: string; fromId?: number; toId?: number }): Promise<number> {
      const conditions = [sql`true`];
      if (filter.ids?.length) conditions.push(sql`${webhookInbox.id} in ${filter.ids}`);
      if (filter.provider) conditions.push(eq(webhookInbox.provider, filter.provider));
      if (filter.fromId !== undefined) conditions.push(sql`${webhookInbox.id} >= ${filter.fromId}`);
      if (filter.toId !== undefined) conditions.push(sql`${webhookInbox.id} <= ${filter.toId}`);
      // A row delivery gave up on starts a fresh attempt budget (its last error stays until a delivery
      // settles it), so a failed row is not failed again by its next error; other rows keep counting.
      const rows = await db
        .update(webhookInbox)
        .set({
          status: 'pending',
          nextAttemptAt: sql`now()`,
          lockedUntil: null,
          attempts: sql`case when ${webhookInbox.status} in ${[...GIVEN_UP_INBOX_STATUSES]} then 0 else ${webhookInbox.attempts} end`,
        })
        .where(and(...conditions, sql`${webhookInbox.status} <> 'ignored'`))
        .returning({ id: webhookInbox.id });
      return rows.length;
    },

    /**
     * Deletes up to `limit` settled rows (delivered, closed, ignored) settled before `cutoff`; rows
     * still owed to a workflow (received, pending, parked, failed, unmatched) are never touched. Returns the count.
     */
    async pruneSettled({ cutoff, limit }: { cutoff: Date; limit: number }): Promise<number> {
      const rows = await db.execute<{ id: number }>(sql`
        delete from ${webhookInbox}
         where id in (
           select id from ${webhookInbox}
            where status in ${[...PRUNABLE_INBOX_STATUSES]}
              and coalesce(delivered_at, received_at) < ${cutoff.toISOString()}::timestamptz
            limit ${limit})
        returning id`);
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
