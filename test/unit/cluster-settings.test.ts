// The cluster topology (npm run start:cluster) and docker-compose.yml run the same Temporal: the
// settings in stack/cluster/settings.ts are compared here with what the Compose file says.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { searchAttributeCreateArgs, namespaceCreateArgs, TEMPORAL_CLUSTER } from '../../stack/cluster/settings';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const compose = await readFile(`${ROOT}docker-compose.yml`, 'utf8');

/** The block of one service (from `  name:` to the next service at the same indent). */
function service(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  expect(start, `service ${name}`).toBeGreaterThan(0);
  const rest = compose.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}[a-z][\w-]*:\n/);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

describe('cluster settings and docker-compose.yml', () => {
  const temporal = service('temporal');

  it('run the same server release on the postgres12 plugin', () => {
    expect(temporal).toContain(`image: temporalio/auto-setup:${TEMPORAL_CLUSTER.serverVersion.replace(/^v/, '')}\n`);
    expect(temporal).toContain(`DB: ${TEMPORAL_CLUSTER.sqlPlugin}\n`);
  });

  it('fix the same number of history shards, namespace and retention', () => {
    expect(temporal).toContain(`NUM_HISTORY_SHARDS: '${TEMPORAL_CLUSTER.numHistoryShards}'\n`);
    expect(temporal).toContain(`DEFAULT_NAMESPACE: ${TEMPORAL_CLUSTER.namespace}\n`);
    expect(temporal).toContain(`DEFAULT_NAMESPACE_RETENTION: ${TEMPORAL_CLUSTER.namespaceRetention}\n`);
    expect(namespaceCreateArgs()).toEqual(['operator', 'namespace', 'create', '--namespace', 'default', '--retention', TEMPORAL_CLUSTER.namespaceRetention]);
  });

  it('read the one dynamic config file', async () => {
    const mounted = temporal.match(/- \.\/(\S+):(\S+):ro\n/);
    expect(mounted?.[1]).toBe(TEMPORAL_CLUSTER.dynamicConfigFile);
    expect(temporal).toContain(`DYNAMIC_CONFIG_FILE_PATH: ${mounted?.[2]}\n`);
    const dynamic = await readFile(`${ROOT}${TEMPORAL_CLUSTER.dynamicConfigFile}`, 'utf8');
    expect(dynamic).toMatch(/^system\.forceSearchAttributesCacheRefreshOnRead:\n {2}- value: true\n/m);
  });

  it('register the search attributes with the same command', () => {
    const adminTools = service('temporal-admin-tools');
    expect(adminTools).toContain("entrypoint: ['temporal']\n");
    const command = adminTools.slice(adminTools.indexOf('command:\n')).split('\n').slice(1);
    const args = command.filter((line) => /^ {6}- /.test(line)).map((line) => line.replace(/^ {6}- /, ''));
    expect(args).toEqual(searchAttributeCreateArgs());
  });
});
