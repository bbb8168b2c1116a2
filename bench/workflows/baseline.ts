// The B3 baseline: the least a durable payment could cost on the same server — two no-op
// activities around one signal.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });
export const proceedSignal = defineSignal('proceed');

export async function baselineWorkflow(): Promise<void> {
  let proceed = false;
  setHandler(proceedSignal, () => {
    proceed = true;
  });
  await noop();
  await condition(() => proceed);
  await noop();
}
