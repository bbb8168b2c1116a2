// Each test process installs the Temporal runtime once with a quiet logger: activity failures are
// the point of many tests, and the SDK would print every one of them.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'ERROR' | undefined) ?? 'ERROR') });
