// The one runner every payment and channel call goes through, in a mocked activity context: what it
// logs, counts and heartbeats, how a retry attempt learns about the previous one, and what Temporal
// receives when the call fails.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { createProviderCallRunner, toApplicationFailure, type ProviderCallRunnerOptions } from '../../activities/provider-call';
import { ProviderError } from '../../providers/errors';
import { createLogger } from '../../observability/logger';

type LogLine = Record<string, unknown> & { msg: string };

function capture() {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
        done();
      },
    }),
  });
  const calls: { provider: string; operation: string; outcome: string }[] = [];
  const retries: { provider: string; operation: string; attempt: number }[] = [];
  const observer = {
    onCall: (provider: string, operation: string, outcome: string) => calls.push({ provider, operation, outcome }),
    onRetry: (provider: string, operation: string, attempt: number) => retries.push({ provider, operation, attempt }),
  };
  return { lines, logger, observer, calls, retries };
}

/** One attempt of an activity in a mocked context, with every heartbeat it sent. */
async function attempt<T>(info: Partial<Info>, body: () => Promise<T>): Promise<{ result?: T; error?: unknown; heartbeats: unknown[] }> {
  // The SDK's own 'Activity failed' warnings would only repeat what the assertions check.
  const env = new MockActivityEnvironment({ activityType: 'testActivity', ...info }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  try {
    return { result: await env.run(body), heartbeats };
  } catch (error) {
    return { error, heartbeats };
  }
}

const runner = (options: Omit<ProviderCallRunnerOptions, 'logger' | 'observer'>, sink: ReturnType<typeof capture>) =>
  createProviderCallRunner({ ...options, logger: sink.logger, observer: sink.observer });

describe('toApplicationFailure', () => {
  it('keeps the ProviderError as the cause, so its stack and own cause reach Temporal', () => {
    const original = new ProviderError('stripe', 'createPayment', 'unavailable', 'HTTP 503', { httpStatus: 503, cause: new Error('socket closed') });
    const failure = toApplicationFailure(original);
    expect(failure.cause).toBe(original);
    expect(failure).toMatchObject({ type: 'ProviderError.unavailable', message: 'stripe createPayment: HTTP 503', nonRetryable: false });
  });
});

describe('the provider-call runner for payment calls', () => {
  it('logs and counts a successful call under the provider, running it through the guard', async () => {
    const sink = capture();
    const guarded: string[] = [];
    const run = runner(
      {
        subject: 'provider',
        guard: {
          guard: (provider, operation, fn) => {
            guarded.push(`${provider}.${operation}`);
            return fn();
          },
        },
      },
      sink,
    );
    const { result } = await attempt({}, () => run('stripe', 'createPayment', { paymentId: 'pay_1' }, async () => 'pi_1'));
    expect(result).toBe('pi_1');
    expect(guarded).toEqual(['stripe.createPayment']);
    expect(sink.calls).toEqual([{ provider: 'stripe', operation: 'createPayment', outcome: 'ok' }]);
    expect(sink.lines).toEqual([expect.objectContaining({ msg: 'provider call', provider: 'stripe', operation: 'createPayment', paymentId: 'pay_1', outcome: 'ok', attempt: 1 })]);
  });

  it('turns a failure into a retryable ApplicationFailure with Retry-After as the next delay, and tells the next attempt why it is a retry', async () => {
    const sink = capture();
    const run = runner({ subject: 'provider' }, sink);
    const limited = new ProviderError('paypal', 'getPayment', 'rate_limited', 'HTTP 429', { httpStatus: 429, retryAfterMs: 4_000 });
    const first = await attempt({}, () => run('paypal', 'getPayment', {}, () => Promise.reject(limited)));
    expect(first.error).toBeInstanceOf(ApplicationFailure);
    expect(first.error).toMatchObject({ type: 'ProviderError.rate_limited', nonRetryable: false, nextRetryDelay: 4_000, cause: limited });
    expect(sink.lines.at(-1)).toMatchObject({ msg: 'provider call failed; Temporal will retry', provider: 'paypal', outcome: 'rate_limited', retryAfterMs: 4_000 });
    const lastHeartbeat = first.heartbeats.at(-1);
    expect(lastHeartbeat).toEqual({ lastFailure: { kind: 'rate_limited', reason: 'HTTP 429', httpStatus: 429, retryAfterMs: 4_000 } });

    const second = await attempt({ attempt: 2, heartbeatDetails: lastHeartbeat }, () => run('paypal', 'getPayment', {}, async () => 'ok'));
    expect(second.result).toBe('ok');
    expect(sink.retries).toEqual([{ provider: 'paypal', operation: 'getPayment', attempt: 2 }]);
    expect(sink.lines.find((line) => line.msg === 'provider call retry attempt')).toMatchObject({ previousFailure: 'rate_limited', httpStatus: 429, retryAfterMs: 4_000, attempt: 2 });
  });

  it('classifies an error below HTTP and marks a final failure not retryable', async () => {
    const sink = capture();
    const run = runner({ subject: 'provider' }, sink);
    const reset = await attempt({}, () => run('swish', 'getPayment', {}, () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))));
    expect(reset.error).toMatchObject({ type: 'ProviderError.network', nonRetryable: false });
    expect((reset.error as ApplicationFailure).cause).toBeInstanceOf(ProviderError);

    const declined = await attempt({}, () => run('stripe', 'createPayment', {}, () => Promise.reject(new ProviderError('stripe', 'createPayment', 'decline', 'card declined', { retryAfterMs: 1_000 }))));
    expect(declined.error).toMatchObject({ type: 'ProviderError.decline', nonRetryable: true, nextRetryDelay: undefined });
    expect(sink.lines.at(-1)).toMatchObject({ msg: 'provider call failed; not retryable', outcome: 'decline', retryable: false });
    expect(sink.calls.map((call) => call.outcome)).toEqual(['network', 'decline']);
  });
});

describe('the provider-call runner for channel calls', () => {
  it('heartbeats the progress a call records, keeps it through a failure, and hands it to the next attempt', async () => {
    const sink = capture();
    const run = runner({ subject: 'channel' }, sink);
    const resumedFrom: unknown[] = [];
    const first = await attempt({}, () =>
      run<number, { requestsDone: number }>('booking_com', 'pushCalendar', { unitId: 'unit_1' }, async (call) => {
        resumedFrom.push(call.resumeFrom);
        call.progress({ requestsDone: 1 });
        call.progress({ requestsDone: 2 });
        throw new ProviderError('booking_com', 'pushCalendar', 'unavailable', 'HTTP 503', { httpStatus: 503 });
      }),
    );
    expect(first.error).toMatchObject({ type: 'ProviderError.unavailable', nonRetryable: false });
    // A failure must not overwrite the checkpoint: the last heartbeat is still the progress.
    expect(first.heartbeats).toEqual([{ requestsDone: 1 }, { requestsDone: 2 }]);
    expect(sink.lines.at(-1)).toMatchObject({ msg: 'channel call failed; Temporal will retry', channel: 'booking_com', operation: 'pushCalendar', unitId: 'unit_1', outcome: 'unavailable' });
    expect(sink.lines.at(-1)).not.toHaveProperty('provider');

    const second = await attempt({ attempt: 2, heartbeatDetails: first.heartbeats.at(-1) }, () =>
      run<number, { requestsDone: number }>('booking_com', 'pushCalendar', {}, async (call) => {
        resumedFrom.push(call.resumeFrom);
        return 3;
      }),
    );
    expect(second.result).toBe(3);
    expect(resumedFrom).toEqual([undefined, { requestsDone: 2 }]);
    expect(sink.retries).toEqual([{ provider: 'booking_com', operation: 'pushCalendar', attempt: 2 }]);
    expect(sink.calls.map((call) => `${call.provider}:${call.outcome}`)).toEqual(['booking_com:unavailable', 'booking_com:ok']);
    expect(sink.lines.map((line) => line.msg)).toEqual(['channel call failed; Temporal will retry', 'channel call']);
  });
});
