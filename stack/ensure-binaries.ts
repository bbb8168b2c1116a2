// `npx tsx stack/ensure-binaries.ts` — makes sure the Temporal CLI and stripe-mock exist (building
// them on first use) and prints where they are. Used by .ci/run before the tests.
// A standalone entry point: it reads its two path overrides straight from the environment.
import { ensureBinary, type BinaryName } from './binaries';

const overrides: Record<BinaryName, string | undefined> = {
  temporal: process.env.TEMPORAL_CLI_PATH || undefined,
  'stripe-mock': process.env.STRIPE_MOCK_PATH || undefined,
};

const log = (msg: string) => console.log(`[ensure-binaries] ${msg}`);

try {
  // One after the other: two Go builds at once would only fight over the two cores.
  for (const name of ['temporal', 'stripe-mock'] as const) {
    const path = await ensureBinary(name, { explicitPath: overrides[name], log });
    log(`${name}: ${path}`);
  }
} catch (err) {
  console.error(`[ensure-binaries] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
