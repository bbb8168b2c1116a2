// The self-hosted Temporal cluster's settings, one source for `npm run start:cluster` and (through
// test/unit/cluster-settings.test.ts, which reads docker-compose.yml) for the Compose topology.
import { BINARY_SPECS } from '../binaries';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';

export const TEMPORAL_CLUSTER = {
  /** The server release; docker-compose's temporalio/auto-setup image carries the same number. */
  serverVersion: BINARY_SPECS['temporal-server'].version,
  /** Temporal's SQL plugin for PostgreSQL 12 and later (the default and the visibility store). */
  sqlPlugin: 'postgres12',
  databases: { default: 'temporal', visibility: 'temporal_visibility' },
  /**
   * Fixed at the first start and never changeable afterwards (history is partitioned by it). 4 is
   * auto-setup's default and ample for one machine; a cluster meant to grow picks more (512) before
   * its first start.
   */
  numHistoryShards: 4,
  namespace: 'default',
  namespaceRetention: '30d',
  /** Relative to the repository root. */
  dynamicConfigFile: 'deploy/temporal-dynamic-config.yaml',
} as const;

/**
 * `temporal operator search-attribute create …` for every attribute Skerry sets: the command
 * docker-compose's temporal-admin-tools job runs, and the one the cluster topology runs.
 */
export function searchAttributeCreateArgs(namespace: string = TEMPORAL_CLUSTER.namespace): string[] {
  const args = ['operator', 'search-attribute', 'create', '--namespace', namespace];
  for (const [name, type] of Object.entries(SKERRY_SEARCH_ATTRIBUTES)) args.push('--name', name, '--type', type);
  return args;
}

export function namespaceCreateArgs(namespace: string = TEMPORAL_CLUSTER.namespace): string[] {
  return ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', TEMPORAL_CLUSTER.namespaceRetention];
}
