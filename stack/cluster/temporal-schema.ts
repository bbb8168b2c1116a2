// Temporal's two databases (the default store and SQL visibility) on a PostgreSQL server, created
// and brought to the server version's schema with Temporal's own schema tool, as auto-setup does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { TEMPORAL_CLUSTER } from './settings';

const run = promisify(execFile);

export interface TemporalDatabaseServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * The schema files ship in the server's Go module (schema/postgresql/v12/…), not in the binaries:
 * `go mod download` finds (or fetches) that module and says where it is.
 */
export async function temporalSchemaDir(): Promise<string> {
  const module = `go.temporal.io/server@${TEMPORAL_CLUSTER.serverVersion}`;
  try {
    const { stdout } = await run('go', ['mod', 'download', '-json', module], { env: { ...process.env, GOFLAGS: '-mod=mod' }, maxBuffer: 4 * 1024 * 1024 });
    const dir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!dir) throw new Error(`go mod download named no directory for ${module}`);
    return join(dir, 'schema', 'postgresql', 'v12');
  } catch (err) {
    throw new Error(`the Temporal schema files (module ${module}) could not be found: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates both databases when missing and applies every versioned schema update not yet applied. */
export async function setUpTemporalSchemas(options: { sqlToolPath: string; server: TemporalDatabaseServer; log: (m: string) => void }): Promise<void> {
  const schemaDir = await temporalSchemaDir();
  const { server, sqlToolPath } = options;
  const stores = [
    { database: TEMPORAL_CLUSTER.databases.default, versioned: join(schemaDir, 'temporal', 'versioned') },
    { database: TEMPORAL_CLUSTER.databases.visibility, versioned: join(schemaDir, 'visibility', 'versioned') },
  ];
  for (const { database, versioned } of stores) {
    const base = ['--plugin', TEMPORAL_CLUSTER.sqlPlugin, '--endpoint', server.host, '--port', String(server.port), '--user', server.user, '--password', server.password, '--database', database];
    const tool = async (...args: string[]) => {
      try {
        return (await run(sqlToolPath, [...base, ...args], { maxBuffer: 4 * 1024 * 1024 })).stdout;
      } catch (err) {
        const failure = err as Error & { stderr?: string; stdout?: string };
        throw new Error(`temporal sql tool ${args[0]} on ${database} failed: ${(failure.stderr || failure.stdout || failure.message).trim().slice(-2_000)}`, { cause: err });
      }
    };
    if (!(await databaseExists(server, database))) await tool('create-database');
    // Version 0.0 is only the bookkeeping tables; it is idempotent, and update-schema then applies
    // each versioned step newer than the database's recorded version.
    await tool('setup-schema', '-v', '0.0');
    await tool('update-schema', '-d', versioned);
    options.log(`Temporal ${database} schema is current`);
  }
}

async function databaseExists(server: TemporalDatabaseServer, database: string): Promise<boolean> {
  const { default: postgres } = await import('postgres');
  const sql = postgres({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres', max: 1, onnotice: () => undefined });
  try {
    return (await sql`select 1 from pg_database where datname = ${database}`).length > 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
