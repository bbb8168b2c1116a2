import { describe, expect, it } from 'vitest';
import { CHANNEL_SANDBOX_DEFAULTS, loadConfig } from '../../config';

const production = {
  APP_ENV: 'production',
  TEMPORAL_ADDRESS: 'temporal:7233',
  DATABASE_URL: 'postgres://u@db:5432/skerry',
  STRIPE_SECRET_KEY: 'sk_live_abc',
  STRIPE_WEBHOOK_SECRET: 'whsec_live',
  TOKEN_ENCRYPTION_KEY: 'ef'.repeat(32),
};

describe('channel configuration', () => {
  it('runs development against the Booking.com and Airbnb sandboxes', () => {
    const { channels } = loadConfig({});
    expect(channels.bookingCom).toMatchObject({ enabled: true, sandboxed: true, apiBase: 'http://127.0.0.1:4010/booking-com', pollIntervalMs: 20_000 });
    expect(channels.airbnb).toMatchObject({ enabled: true, sandboxed: true, apiBase: 'http://127.0.0.1:4010/airbnb', webhookSecrets: [CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret] });
    expect(Buffer.from(channels.tokenEncryptionKey.current, 'base64')).toHaveLength(32);
    expect(channels).toMatchObject({ sync: { quietMs: 2_000, maxDelayMs: 15_000, maxPushesPerMinute: 10 }, resyncHour: 3 });
  });

  it('turns a channel off outside development unless it has credentials, and names what is missing', () => {
    const off = loadConfig(production).channels;
    expect(off.bookingCom.enabled).toBe(false);
    expect(off.airbnb.enabled).toBe(false);
    expect(() => loadConfig({ ...production, BOOKING_COM_USERNAME: 'machine' })).toThrow(/BOOKING_COM_PASSWORD/);
    expect(() => loadConfig({ ...production, AIRBNB_CLIENT_ID: 'id', AIRBNB_CLIENT_SECRET: 's' })).toThrow(/AIRBNB_WEBHOOK_SECRET/);
    const { TOKEN_ENCRYPTION_KEY: _key, ...withoutKey } = production;
    expect(() => loadConfig({ ...withoutKey, AIRBNB_CLIENT_ID: 'id', AIRBNB_CLIENT_SECRET: 's', AIRBNB_WEBHOOK_SECRET: 'w' })).toThrow(/TOKEN_ENCRYPTION_KEY/);
    const on = loadConfig({
      ...production,
      BOOKING_COM_USERNAME: 'machine',
      BOOKING_COM_PASSWORD: 'p',
      AIRBNB_CLIENT_ID: 'id',
      AIRBNB_CLIENT_SECRET: 's',
      AIRBNB_WEBHOOK_SECRET: 'w1,w2',
      TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
    }).channels;
    expect(on.bookingCom).toMatchObject({ enabled: true, sandboxed: false, apiBase: 'https://supply-xml.booking.com' });
    expect(on.airbnb).toMatchObject({ enabled: true, sandboxed: false, webhookSecrets: ['w1', 'w2'] });
    expect(on.tokenEncryptionKey).toEqual({ current: Buffer.from('ab'.repeat(32), 'hex').toString('base64') });
  });

  it('validates the key, the resync hour and the sync timings', () => {
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: 'short' })).toThrow(/TOKEN_ENCRYPTION_KEY/);
    expect(() => loadConfig({ CHANNEL_RESYNC_HOUR: '24' })).toThrow(/CHANNEL_RESYNC_HOUR/);
    expect(loadConfig({ CHANNEL_RESYNC_HOUR: 'off' }).channels.resyncHour).toBeUndefined();
    expect(loadConfig({ CHANNEL_RESYNC_HOUR: '0' }).channels.resyncHour).toBe(0);
    expect(() => loadConfig({ CHANNEL_SYNC_QUIET_MS: '-1' })).toThrow(/CHANNEL_SYNC_QUIET_MS/);
  });
});
