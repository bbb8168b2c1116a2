// The answers of money-moving requests, remembered under (API key, Idempotency-Key) for 24 hours.
// The first request claims the key (a `pending` row); its answer is stored when it has one; a retry
// gets that answer back and nothing runs twice. The same key with another request is refused.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { idempotencyKeys } from '../db/schema';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** A claim whose request died (a crashed process) is taken over after this long. */
const PENDING_CLAIM_MS = 2 * 60_000;

export interface IdempotentRequest {
  apiKeyId: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; status: number; contentType: string | null; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export function createIdempotencyStore(db: Database, options: { ttlMs?: number } = {}) {
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const where = (request: Pick<IdempotentRequest, 'apiKeyId' | 'key'>) => and(eq(idempotencyKeys.apiKeyId, request.apiKeyId), eq(idempotencyKeys.key, request.key));

  const tryClaim = async (request: IdempotentRequest) => {
    const [row] = await db
      .insert(idempotencyKeys)
      .values({ ...request, state: 'pending', expiresAt: sql`now() + make_interval(secs => ${ttlMs / 1000})` })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return Boolean(row);
  };

  return {
    async claim(request: IdempotentRequest): Promise<IdempotencyClaim> {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        if (await tryClaim(request)) return { kind: 'claimed' };
        const [row] = await db
          .select({
            requestHash: idempotencyKeys.requestHash,
            state: idempotencyKeys.state,
            responseStatus: idempotencyKeys.responseStatus,
            responseType: idempotencyKeys.responseType,
            responseBody: idempotencyKeys.responseBody,
            expired: sql<boolean>`${idempotencyKeys.expiresAt} < now()`,
            stale: sql<boolean>`${idempotencyKeys.createdAt} < now() - make_interval(secs => ${PENDING_CLAIM_MS / 1000})`,
          })
          .from(idempotencyKeys)
          .where(where(request));
        if (!row) continue; // expired and purged between the two statements
        if (row.expired) {
          await db.delete(idempotencyKeys).where(and(where(request), lt(idempotencyKeys.expiresAt, sql`now()`)));
          continue;
        }
        if (row.requestHash !== request.requestHash) return { kind: 'mismatch' };
        if (row.state === 'done') return { kind: 'replay', status: row.responseStatus!, contentType: row.responseType, body: row.responseBody ?? '' };
        if (!row.stale) return { kind: 'in_progress' };
        // The first request's process died before answering: this retry takes the claim over.
        const [taken] = await db
          .update(idempotencyKeys)
          .set({ createdAt: sql`now()` })
          .where(and(where(request), eq(idempotencyKeys.state, 'pending'), lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${PENDING_CLAIM_MS / 1000})`)))
          .returning({ key: idempotencyKeys.key });
        if (taken) return { kind: 'claimed' };
      }
      return { kind: 'in_progress' };
    },

    /** Stores the answer a retry will get. */
    async complete(request: Pick<IdempotentRequest, 'apiKeyId' | 'key'>, response: { status: number; contentType?: string; body: string }): Promise<void> {
      await db
        .update(idempotencyKeys)
        .set({ state: 'done', responseStatus: response.status, responseType: response.contentType ?? null, responseBody: response.body })
        .where(and(where(request), eq(idempotencyKeys.state, 'pending')));
    },

    /** Forgets a claim whose request failed on the server's side, so a retry runs it again. */
    async release(request: Pick<IdempotentRequest, 'apiKeyId' | 'key'>): Promise<void> {
      await db.delete(idempotencyKeys).where(and(where(request), eq(idempotencyKeys.state, 'pending')));
    },

    /** Drops answers older than the retention. */
    async purgeExpired(): Promise<number> {
      const rows = await db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, sql`now()`)).returning({ key: idempotencyKeys.key });
      return rows.length;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
