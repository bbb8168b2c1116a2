// One cluster for the suite (stack/cluster, as `npm run start:cluster` runs it): Skerry's
// PostgreSQL, Temporal's own PostgreSQL, the real server with SQL visibility, the namespace and the
// search attributes, the Web UI server, one workflow bundle. Test files reach the server's life through a loopback
// control (kill it, start it again), since it belongs to this process.
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startClusterInfrastructure } from '../../stack/cluster/infrastructure';
import { buildWorkflowBundle } from '../../worker/bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
    temporalPostgresUrl: string;
    clusterControlUrl: string;
    temporalUiUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const workDir = await mkdtemp(join(tmpdir(), 'skerry-cluster-test-'));
  const log = (message: string) => console.log(`[cluster setup] ${message}`);
  const infra = await startClusterInfrastructure({ dataDir: workDir, persistent: false, log, cliPath: process.env.TEMPORAL_CLI_PATH, serverPath: process.env.TEMPORAL_SERVER_PATH, sqlToolPath: process.env.TEMPORAL_SQL_TOOL_PATH });
  const workflowBundlePath = await buildWorkflowBundle(join(workDir, 'workflow-bundle.js'));
  const ui = await infra.startWebUi({ uiServerPath: process.env.TEMPORAL_UI_SERVER_PATH });

  const control = createServer((request, response) => {
    const answer = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const action = request.method === 'POST' ? request.url : undefined;
    const run = async () => {
      if (action === '/server/kill') {
        const pid = infra.server().process.pid;
        await infra.server().kill();
        return { killed: pid };
      }
      if (action === '/server/start') return { started: (await infra.restartServer()).process.pid };
      if (action === '/server/pid') return { pid: infra.server().process.pid, exitCode: infra.server().process.exitCode, signal: infra.server().process.signalCode };
      throw new Error(`unknown control ${request.method} ${request.url}`);
    };
    run().then((body) => answer(200, body), (err: Error) => answer(500, { error: err.message }));
  });
  await new Promise<void>((resolveListen) => control.listen(0, '127.0.0.1', () => resolveListen()));
  const address = control.address();
  if (!address || typeof address === 'string') throw new Error('the cluster control did not bind');

  project.provide('temporalAddress', infra.temporalAddress);
  project.provide('databaseUrl', infra.databaseUrl);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalPostgresUrl', infra.temporalPostgresUrl);
  project.provide('clusterControlUrl', `http://127.0.0.1:${address.port}`);
  project.provide('temporalUiUrl', ui.url);

  return async () => {
    await new Promise((resolveClose) => control.close(resolveClose));
    await infra.stop();
    await rm(workDir, { recursive: true, force: true });
  };
}
