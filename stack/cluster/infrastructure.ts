// What the cluster topology runs under Skerry: Skerry's PostgreSQL, a second PostgreSQL for Temporal
// (as docker-compose's temporal-postgres: its load and its disk apart from Skerry's, and its CPU
// measurable on its own in `npm run bench`), Temporal's schemas, the server, the namespace and
// Skerry's search attributes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBinary } from '../binaries';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../embedded-postgres';
import { freePort } from '../ports';
import { migrateDatabase } from '../../db/migrate';
import { setUpTemporalSchemas, type TemporalDatabaseServer } from './temporal-schema';
import { startTemporalServer, temporalServerPorts, writeTemporalServerConfig, type TemporalServer, type TemporalServerPorts } from './temporal-server';
import { registerNamespaceAndSearchAttributes } from './register';
import { startTemporalUi, type TemporalUi } from './temporal-ui';

export interface ClusterInfrastructureOptions {
  dataDir: string;
  /** false: throwaway databases tuned for speed (tests, benchmarks). */
  persistent: boolean;
  /** Fixed ports (npm run start:cluster); any free ones when omitted. */
  ports?: { temporalFrontend: number; skerryPostgres: number; temporalPostgres: number };
  log: (message: string) => void;
  /** The Temporal CLI, for the registration commands; found or built when omitted. */
  cliPath?: string;
  serverPath?: string;
  sqlToolPath?: string;
}

export interface ClusterInfrastructure {
  temporalAddress: string;
  databaseUrl: string;
  temporalDatabase: TemporalDatabaseServer;
  temporalPostgresUrl: string;
  skerryPostgresUrl: string;
  /** The server now running (replaced by restartServer). */
  server(): TemporalServer;
  /** Starts the server again on the same config, ports and databases (after a stop or a kill). */
  restartServer(): Promise<TemporalServer>;
  /**
   * Starts the Temporal Web UI server against this cluster's frontend (built once into the binary
   * cache when missing); stopped with the rest. Any free port when `port` is omitted.
   */
  startWebUi(options?: { port?: number; codecEndpoint?: string; uiServerPath?: string }): Promise<TemporalUi>;
  stop(): Promise<void>;
}

export async function startClusterInfrastructure(options: ClusterInfrastructureOptions): Promise<ClusterInfrastructure> {
  const { dataDir, log } = options;
  await mkdir(dataDir, { recursive: true });
  const binary = (name: 'temporal' | 'temporal-server' | 'temporal-sql' | 'temporal-ui-server', explicitPath?: string) => ensureBinary(name, { explicitPath, log });
  const serverPath = await binary('temporal-server', options.serverPath);
  const sqlToolPath = await binary('temporal-sql', options.sqlToolPath);
  const cliPath = await binary('temporal', options.cliPath);

  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch((err: Error) => log(`stopping: ${err.message}`));
  };
  try {
    const postgresFor = async (name: string, port: number | undefined, database: string): Promise<EmbeddedPostgres> => {
      const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, name), port: port ?? (await freePort()), database, persistent: options.persistent });
      stops.push(() => pg.stop());
      return pg;
    };
    const skerryPostgres = await postgresFor('postgres', options.ports?.skerryPostgres, 'skerry');
    const temporalPostgres = await postgresFor('temporal-postgres', options.ports?.temporalPostgres, 'postgres');
    const pgUrl = new URL(temporalPostgres.url);
    const temporalDatabase: TemporalDatabaseServer = { host: pgUrl.hostname, port: Number(pgUrl.port), user: decodeURIComponent(pgUrl.username), password: decodeURIComponent(pgUrl.password) };
    await setUpTemporalSchemas({ sqlToolPath, server: temporalDatabase, log });
    await migrateDatabase(skerryPostgres.url);

    const root = join(dataDir, 'temporal-server');
    const ports: TemporalServerPorts = await temporalServerPorts(options.ports?.temporalFrontend);
    await writeTemporalServerConfig({ root, ports, database: temporalDatabase });
    const logFile = join(dataDir, 'temporal-server.log');
    const start = () => startTemporalServer({ serverPath, root, ports, logFile });
    let server = await start();
    stops.push(() => server.stop());
    await registerNamespaceAndSearchAttributes({ cliPath, address: server.address });
    log(`Temporal server ${server.address} serving, on PostgreSQL ${temporalDatabase.host}:${temporalDatabase.port}`);

    return {
      temporalAddress: server.address,
      databaseUrl: skerryPostgres.url,
      temporalDatabase,
      temporalPostgresUrl: temporalPostgres.url,
      skerryPostgresUrl: skerryPostgres.url,
      server: () => server,
      async restartServer() {
        await server.stop();
        server = await start();
        return server;
      },
      async startWebUi(ui = {}) {
        const uiPath = await binary('temporal-ui-server', ui.uiServerPath);
        const started = await startTemporalUi({
          uiPath,
          root: join(dataDir, 'temporal-ui'),
          port: ui.port ?? (await freePort()),
          temporalAddress: server.address,
          codecEndpoint: ui.codecEndpoint,
          logFile: join(dataDir, 'temporal-ui.log'),
        });
        // Stopped before the server it reads from.
        stops.push(() => started.stop());
        return started;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
