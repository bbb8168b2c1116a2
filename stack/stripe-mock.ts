// Runs stripe-mock (Stripe's official OpenAPI-driven API mock) on loopback for tests.
import { spawn, type ChildProcess } from 'node:child_process';

export interface StripeMockOptions {
  binPath: string;
  /** Default 30 s (loading the OpenAPI spec takes ~1 s). */
  readyTimeoutMs?: number;
}

export interface StripeMock {
  /** e.g. http://127.0.0.1:41234 — use as the Stripe API base (the `/v1/...` paths go after it). */
  baseUrl: string;
  stop(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startStripeMock(opts: StripeMockOptions): Promise<StripeMock> {
  // Empty ports let stripe-mock bind free ones itself (no probe-then-bind race); it prints them.
  const child = spawn(opts.binPath, ['-http-addr', '127.0.0.1:', '-https-addr', '127.0.0.1:'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);

  let output = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true;
      liveChildren.delete(child);
      resolveExit();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(timer);
  };

  const httpAddress = await new Promise<string>((resolveAddr, reject) => {
    const timeout = setTimeout(
      () => reject(new Error(`stripe-mock did not report its address within ${opts.readyTimeoutMs ?? 30_000} ms`)),
      opts.readyTimeoutMs ?? 30_000,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
      const match = /Listening for HTTP at address: (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timeout);
        resolveAddr(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timeout);
      reject(new Error(`could not run stripe-mock at ${opts.binPath}: ${err.message}`));
    });
    void exitPromise.then(() => {
      clearTimeout(timeout);
      reject(new Error(`stripe-mock exited before it was ready:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  const baseUrl = `http://${httpAddress}`;
  // It prints the address once listening; one real request proves it serves.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/v1/balance`, { headers: { Authorization: 'Bearer sk_test_123' } });
      await res.arrayBuffer();
      if (res.ok) break;
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      if (exited || Date.now() > deadline) {
        await stop();
        throw new Error(`stripe-mock at ${baseUrl} is not answering: ${(err as Error).message}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { baseUrl, stop };
}
