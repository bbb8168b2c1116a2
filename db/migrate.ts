import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { createDatabase } from './client';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** Applies the committed drizzle-kit migrations; safe to run from several processes at once. */
export async function migrateDatabase(url: string): Promise<void> {
  const { db, sql, close } = createDatabase(url, { max: 1, statementTimeoutMs: 0 }); // migrations may legitimately run long
  try {
    // Serialize concurrent starters (worker and API booting together) on an advisory lock.
    await sql`select pg_advisory_lock(727274)`;
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql`select pg_advisory_unlock(727274)`.catch(() => {});
    await close();
  }
}
