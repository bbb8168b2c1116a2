// The namespace and Skerry's search attributes on a self-hosted cluster, registered with the
// commands docker-compose runs (auto-setup's namespace, the admin-tools job's attributes), through
// the Temporal CLI, then checked through the operator service before anything uses them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { SKERRY_SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { namespaceCreateArgs, searchAttributeCreateArgs, TEMPORAL_CLUSTER } from './settings';

const run = promisify(execFile);

async function cli(cliPath: string, address: string, args: string[]): Promise<string> {
  try {
    return (await run(cliPath, [...args, '--address', address], { timeout: 30_000 })).stdout;
  } catch (err) {
    const failure = err as Error & { stderr?: string };
    throw new Error(`temporal ${args.slice(0, 3).join(' ')} failed: ${(failure.stderr || failure.message).trim()}`, { cause: err });
  }
}

/** Idempotent: an existing namespace is kept, already-registered attributes are skipped by the CLI. */
export async function registerNamespaceAndSearchAttributes(options: { cliPath: string; address: string; namespace?: string; timeoutMs?: number }): Promise<void> {
  const namespace = options.namespace ?? TEMPORAL_CLUSTER.namespace;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const connection = await Connection.connect({ address: options.address });
  try {
    const described = async () => {
      try {
        await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.describeNamespace({ namespace }));
        return true;
      } catch {
        return false;
      }
    };
    if (!(await described())) await cli(options.cliPath, options.address, namespaceCreateArgs(namespace));
    let last: unknown;
    // The frontend learns of a new namespace from its registry's next refresh: until then the
    // attribute command answers "namespace not found", so it is retried until the deadline.
    for (;;) {
      try {
        if (await described()) {
          await cli(options.cliPath, options.address, searchAttributeCreateArgs(namespace));
          const listed = await connection.withDeadline(Date.now() + 5_000, () => connection.operatorService.listSearchAttributes({ namespace }));
          const missing = Object.keys(SKERRY_SEARCH_ATTRIBUTES).filter((name) => !(name in (listed.customAttributes ?? {})));
          if (missing.length === 0) return;
          last = new Error(`not yet listed: ${missing.join(', ')}`);
        }
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} and its search attributes were not registered in time: ${(last as Error | undefined)?.message ?? 'the namespace never appeared'}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await connection.close();
  }
}
