// `npx tsx stack/ensure-binaries.ts` — makes sure the Temporal CLI, stripe-mock and the cluster's
// Temporal server, schema tool and Web UI server exist (building them on first use) and prints where they are.
// Used by .ci/run before the tests.
// A standalone entry point: it reads its path overrides straight from the environment.
import { ensureBinary, type BinaryName } from './binaries';

const overrides: Record<BinaryName, string | undefined> = {
  temporal: process.env.TEMPORAL_CLI_PATH || undefined,
  'stripe-mock': process.env.STRIPE_MOCK_PATH || undefined,
  'temporal-server': process.env.TEMPORAL_SERVER_PATH || undefined,
  'temporal-sql': process.env.TEMPORAL_SQL_TOOL_PATH || undefined,
  'temporal-ui-server': process.env.TEMPORAL_UI_SERVER_PATH || undefined,
};

const log = (msg: string) => console.log(`[ensure-binaries] ${msg}`);

try {
  // One after the other: two Go builds at once would only fight over the two cores.
  for (const name of ['temporal', 'stripe-mock', 'temporal-server', 'temporal-sql', 'temporal-ui-server'] as const) {
    const path = await ensureBinary(name, { explicitPath: overrides[name], log });
    log(`${name}: ${path}`);
  }
} catch (err) {
  console.error(`[ensure-binaries] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
