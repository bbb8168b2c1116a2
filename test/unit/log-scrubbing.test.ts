// Logs that cannot leak: not through a message string, a printf argument or a child logger's
// bindings (formatters.log sees none of them), and not through a request line's URL, which names
// the route and its parameters but carries none of their values.
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubString } from '../../observability/logger';
import { installRequestLogging } from '../../api/request-log';

const SECRET = 'sk_live_51LeakProbe9QzLs8Yc3';
const WEBHOOK_SECRET = 'whsec_LeakProbeWebhook77';
const EMAIL = 'leak.probe@example.se';
const PHONE = '+46 70 123 45 67';
const CARD = '4000056655665556';
const CODE = 'oauthcodeLEAKPROBE42';

function capture(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

const FORBIDDEN = [SECRET, WEBHOOK_SECRET, EMAIL, PHONE, PHONE.replaceAll(' ', ''), CARD, CODE];

function expectClean(output: string) {
  for (const value of FORBIDDEN) expect(output, value).not.toContain(value);
}

describe('logger', () => {
  it('scrubs message strings and their printf-style arguments', () => {
    const { logger, lines } = capture();
    logger.info(`charged ${CARD} for ${EMAIL} with ${SECRET}`);
    logger.warn({ attempt: 2 }, `callback /oauth/callback?code=${CODE}&state=abc from ${PHONE}`);
    logger.error('verifying with %s failed for %s', WEBHOOK_SECRET, EMAIL);
    expect(lines).toHaveLength(3);
    expectClean(lines.join(''));
    expect(JSON.parse(lines[0]!).msg).toBe('charged [card] for [email] with [redacted]');
    expect(JSON.parse(lines[1]!)).toMatchObject({ attempt: 2, msg: 'callback /oauth/callback?code=[redacted]&state=[redacted] from [phone]' });
  });

  it("scrubs a child logger's bindings, at every generation, and keeps the harmless ones readable", () => {
    const { logger, lines } = capture();
    const child = logger.child({ component: 'channels', email: EMAIL, note: `token ${SECRET}` });
    const grandchild = child.child({ paymentId: 'pay_abc123', payer: { phone: PHONE }, url: `/cb?code=${CODE}` });
    child.info('first');
    grandchild.info({ amount: 100 }, 'second');
    expectClean(lines.join(''));
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'channels', email: '[redacted]', note: 'token [redacted]', msg: 'first' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ component: 'channels', paymentId: 'pay_abc123', payer: { phone: '[redacted]' }, url: '/cb?code=[redacted]', amount: 100 });
  });

  it('keeps the logger name and ordinary numbers', () => {
    const { logger, lines } = capture();
    logger.child({ name: 'worker' }).info({ amount: 1_234_567, at: '2026-12-07T08:00:00+01:00' }, 'order 1234567890123456');
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'worker', amount: 1_234_567, at: '2026-12-07T08:00:00+01:00', msg: 'order 1234567890123456' });
    expect(scrubString('phone +4570123456, id 4570123456')).toBe('phone [phone], id 4570123456');
  });
});

describe('request lines', () => {
  it('name the route pattern and the parameter and query names, never the URL with its values', async () => {
    const { logger, lines } = capture('debug');
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    installRequestLogging(app);
    app.get('/channels/airbnb/oauth/callback', async () => ({ ok: true }));
    app.get('/payments/:id', async () => ({ ok: true }));
    await app.ready();
    expect((await app.inject({ method: 'GET', url: `/channels/airbnb/oauth/callback?code=${CODE}&state=s1` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/payments/pay_abc123?email=${encodeURIComponent(EMAIL)}` })).statusCode).toBe(200);
    await app.close();

    expectClean(lines.join(''));
    expect(lines.join('')).not.toContain(encodeURIComponent(EMAIL));
    const requests = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ method: 'GET', route: '/channels/airbnb/oauth/callback', query: ['code', 'state'], statusCode: 200 }),
      expect.objectContaining({ method: 'GET', route: '/payments/:id', params: ['id'], query: ['email'], paymentId: 'pay_abc123' }),
    ]);
    for (const request of requests) expect(request).not.toHaveProperty('url');
  });
});
