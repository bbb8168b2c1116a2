import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Database = ReturnType<typeof createDatabase>['db'];

/** A statement running longer than this is cancelled by Postgres (SQLSTATE 57014) instead of holding a request. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
/** Connecting to an unreachable server fails after this many seconds rather than postgres.js's 30. */
const CONNECT_TIMEOUT_SECONDS = 10;

export function createDatabase(url: string, options: { max?: number; statementTimeoutMs?: number } = {}) {
  const settings = {
    onnotice: () => {},
    idle_timeout: 30,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    connection: { statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
  };
  const sql = postgres(url, { ...settings, max: options.max ?? 10 });
  const db = drizzle(sql, { schema });
  // The shared request pacer's questions (providers/resilience/pacer.ts) on a connection of their own,
  // opened on first use: behind the pool's other queries a question waits, and its caller cannot tell
  // that wait from lateness. (postgres.js's reserve() is no way out: under a steady load it never
  // finds an idle pooled connection.)
  let pacerSql: postgres.Sql | undefined;
  const pacerConnection = () => (pacerSql ??= postgres(url, { ...settings, max: 1 }));
  return {
    db,
    sql,
    pacerConnection,
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), pacerSql?.end({ timeout: 5 })]);
    },
  };
}
