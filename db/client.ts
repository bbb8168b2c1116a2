import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Database = ReturnType<typeof createDatabase>['db'];

/** A statement running longer than this is cancelled by Postgres (SQLSTATE 57014) instead of holding a request. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
/** Connecting to an unreachable server fails after this many seconds rather than postgres.js's 30. */
const CONNECT_TIMEOUT_SECONDS = 10;

export function createDatabase(url: string, options: { max?: number; statementTimeoutMs?: number } = {}) {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    idle_timeout: 30,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    connection: { statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
