import { describe, expect, it } from 'vitest';
import { CHANNEL_SANDBOX_DEFAULTS, loadConfig } from '../../config';
import { BOOKING_COM_SANDBOX_HOSTS } from '../../sandbox/booking-com/sandbox';

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
    // The sandbox's two paths for Booking.com's two hosts (sandbox/booking-com/sandbox.ts).
    expect(channels.bookingCom).toMatchObject({
      enabled: true,
      sandboxed: true,
      apiBase: `http://127.0.0.1:4010/booking-com${BOOKING_COM_SANDBOX_HOSTS.supply}`,
      secureApiBase: `http://127.0.0.1:4010/booking-com${BOOKING_COM_SANDBOX_HOSTS.secure}`,
      pollIntervalMs: 20_000,
    });
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
    expect(on.bookingCom).toMatchObject({ enabled: true, sandboxed: false, apiBase: 'https://supply-xml.booking.com', secureApiBase: 'https://secure-supply-xml.booking.com/' });
    const elsewhere = loadConfig({ ...production, BOOKING_COM_USERNAME: 'm', BOOKING_COM_PASSWORD: 'p', BOOKING_COM_API_BASE: 'https://ari.example', BOOKING_COM_SECURE_API_BASE: 'https://res.example' });
    expect(elsewhere.channels.bookingCom).toMatchObject({ apiBase: 'https://ari.example', secureApiBase: 'https://res.example' });
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

  it('allows no private iCal host by default, requires https outside development, and reads the flags as words', () => {
    expect(loadConfig({}).channels.ical.importPolicy).toEqual({ allowedHosts: [], requireHttps: false, maxRedirects: 3 });
    expect(loadConfig(production).channels.ical.importPolicy).toMatchObject({ allowedHosts: [], requireHttps: true });
    expect(loadConfig({ ...production, ICAL_IMPORT_REQUIRE_HTTPS: 'false' }).channels.ical.importPolicy.requireHttps).toBe(false);
    expect(loadConfig({ ICAL_IMPORT_REQUIRE_HTTPS: 'true' }).channels.ical.importPolicy.requireHttps).toBe(true);
    expect(loadConfig({ ICAL_IMPORT_ALLOWED_HOSTS: ' 127.0.0.1:4010 , sandbox.local ', ICAL_IMPORT_MAX_REDIRECTS: '0' }).channels.ical.importPolicy).toMatchObject({
      allowedHosts: ['127.0.0.1:4010', 'sandbox.local'],
      maxRedirects: 0,
    });
    expect(() => loadConfig({ ICAL_IMPORT_REQUIRE_HTTPS: 'no' })).toThrow(/ICAL_IMPORT_REQUIRE_HTTPS/);
  });
});
