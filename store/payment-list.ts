// Reading the payment ledger for people: a filtered list paged by an opaque cursor (newest first), a
// payment's stored timeline, and the totals the console's overview shows. The workflow stays the
// truth of one payment (GET /payments/:id asks it); these read the ledger it writes.
import { and, asc, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { paymentEvents, payments, reservations } from '../db/schema';

export interface PaymentListFilter {
  provider?: string;
  status?: string;
  reference?: string;
  /** Created at or after (inclusive). */
  from?: Date;
  /** Created before (exclusive). */
  to?: Date;
  /** A payment id, a provider reference, a reference, or a booking (reservation) id. */
  search?: string;
  cursor?: string;
  limit: number;
}

export type PaymentListRow = typeof payments.$inferSelect;

export class InvalidCursorError extends Error {
  readonly statusCode = 400;
  constructor() {
    super('cursor: not a cursor this API gave out; start again without it');
  }
}

interface CursorPosition {
  createdAt: string;
  id: string;
}

function encodeCursor(row: PaymentListRow): string {
  return Buffer.from(JSON.stringify({ createdAt: row.createdAt.toISOString(), id: row.id } satisfies CursorPosition)).toString('base64url');
}

function decodeCursor(cursor: string): CursorPosition {
  try {
    const position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorPosition>;
    if (typeof position.id === 'string' && typeof position.createdAt === 'string' && !Number.isNaN(Date.parse(position.createdAt))) {
      return { id: position.id, createdAt: position.createdAt };
    }
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
}

function filterConditions(filter: Omit<PaymentListFilter, 'cursor' | 'limit'>): SQL[] {
  const conditions: SQL[] = [];
  if (filter.provider) conditions.push(eq(payments.provider, filter.provider));
  if (filter.status) conditions.push(eq(payments.status, filter.status));
  if (filter.reference) conditions.push(eq(payments.reference, filter.reference));
  if (filter.from) conditions.push(gte(payments.createdAt, filter.from));
  if (filter.to) conditions.push(lt(payments.createdAt, filter.to));
  if (filter.search) {
    const term = filter.search.trim();
    conditions.push(
      or(
        eq(payments.id, term),
        eq(payments.providerReference, term),
        eq(payments.reference, term),
        // A scalar subquery (a booking has one payment) keeps every branch an index lookup.
        sql`${payments.id} = (select ${reservations.paymentId} from ${reservations} where ${reservations.id} = ${term} limit 1)`,
      )!,
    );
  }
  return conditions;
}

export function createPaymentList(db: Database) {
  return {
    /** Newest first; `nextCursor` is null on the last page. */
    async list(filter: PaymentListFilter): Promise<{ items: PaymentListRow[]; nextCursor: string | null }> {
      const conditions = filterConditions(filter);
      if (filter.cursor) {
        const position = decodeCursor(filter.cursor);
        conditions.push(sql`(${payments.createdAt}, ${payments.id}) < (${position.createdAt}::timestamptz, ${position.id})`);
      }
      const rows = await db
        .select()
        .from(payments)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(payments.createdAt), desc(payments.id))
        .limit(filter.limit + 1);
      const items = rows.slice(0, filter.limit);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
    },

    /** Every observation the workflow recorded for a payment, oldest first. */
    async timeline(paymentId: string) {
      return db.select().from(paymentEvents).where(eq(paymentEvents.paymentId, paymentId)).orderBy(asc(paymentEvents.occurredAt), asc(paymentEvents.id));
    },

    /** Counts per status and provider, and money per currency, for payments created in [from, to). */
    async summary(from: Date, to: Date) {
      const window = and(gte(payments.createdAt, from), lt(payments.createdAt, to));
      const byStatus = await db
        .select({ provider: payments.provider, status: payments.status, count: sql<number>`count(*)::int` })
        .from(payments)
        .where(window)
        .groupBy(payments.provider, payments.status);
      const money = await db
        .select({
          currency: payments.currency,
          captured: sql<number>`coalesce(sum(${payments.amountCaptured}), 0)::bigint`,
          refunded: sql<number>`coalesce(sum(${payments.amountRefunded}), 0)::bigint`,
        })
        .from(payments)
        .where(window)
        .groupBy(payments.currency);
      const perHour = await db
        .select({ hour: sql<string>`to_char(date_trunc('hour', ${payments.createdAt}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"')`, count: sql<number>`count(*)::int` })
        .from(payments)
        .where(window)
        .groupBy(sql`1`)
        .orderBy(sql`1`);
      return {
        byStatus,
        money: money.map((row) => ({ currency: row.currency, captured: Number(row.captured), refunded: Number(row.refunded) })),
        perHour,
      };
    },
  };
}

export type PaymentList = ReturnType<typeof createPaymentList>;
