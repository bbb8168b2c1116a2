// The Temporal SDK's Core runtime is a process-wide singleton that must be installed before the
// first NativeConnection. Entry points (worker/main.ts, `npm start`) install it here so the SDK's
// own worker metrics (task latencies, slots, polls, sticky cache, activity/workflow outcomes) are
// exported on their own Prometheus port, next to Skerry's registry.
import { Runtime } from '@temporalio/worker';

export function installTemporalRuntime(options: { metricsBindAddress?: string }): void {
  if (!options.metricsBindAddress) return;
  Runtime.install({
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: options.metricsBindAddress,
          // Seconds, like every other duration Prometheus scrapes from Skerry. Names stay the SDK's
          // documented ones (temporal_request, temporal_activity_execution_latency, …).
          useSecondsForDurations: true,
        },
        globalTags: { service: 'skerry-worker' },
      },
    },
  });
}

export function bindAddress(host: string, port: number | undefined): string | undefined {
  if (port === undefined) return undefined;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
