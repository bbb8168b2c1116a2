// The channel manager's section (Booking.com, Airbnb) and the key material security/ derives its
// subkeys from (TOKEN_ENCRYPTION_KEY), which the channels' and the payment providers' OAuth tokens share.
import type { Env } from './env-schema';
import { ConfigError, invalid } from './errors';
import { CHANNEL_SANDBOX_DEFAULTS, isLoopbackApi } from './sandbox-defaults';

/**
 * The master key (TOKEN_ENCRYPTION_KEY, base64) from which security/ derives one subkey per use:
 * sealing OAuth tokens at rest, encrypting workflow payloads.
 */
export interface TokenEncryptionKeys {
  /** Seals and encrypts everything new. */
  current: string;
  /** TOKEN_ENCRYPTION_KEY_PREVIOUS during a rotation: still opens what it sealed, never seals. */
  previous?: string;
}

export interface ChannelsConfig {
  /**
   * Every key security/ uses, not only the channels': PayPal's and MobilePay's tokens and workflow
   * payloads too. In development, with every OAuth provider on Skerry's sandbox, a published key.
   */
  tokenEncryptionKey: TokenEncryptionKeys;
  /** `apiBase`: ARI (supply-xml.booking.com); `secureApiBase`: reservations and their acknowledgements (secure-supply-xml.booking.com). */
  bookingCom: { enabled: boolean; sandboxed: boolean; username: string; password: string; apiBase: string; secureApiBase: string; pollIntervalMs: number };
  airbnb: {
    enabled: boolean;
    sandboxed: boolean;
    clientId: string;
    clientSecret: string;
    apiBase: string;
    webhookSecrets: readonly string[];
    webhookToleranceSeconds: number;
  };
  channex: {
    enabled: boolean;
    sandboxed: boolean;
    apiKey: string;
    apiBase: string;
    /** The header Channex's webhook is configured to send, and the values accepted in it (several while rotating). */
    webhookHeader: string;
    webhookSecrets: readonly string[];
    pollIntervalMs: number;
    /** Channex's limit: this many requests of each kind (availability, restrictions) per property per window. */
    requestsPerWindow: number;
    rateWindowSeconds: number;
  };
  /** iCal feeds: each import feed's defaults, the size cap, how far ahead exports reach, their per-address rate. */
  ical: {
    pollIntervalMs: number;
    graceMs: number;
    staleAfterMs: number;
    maxBytes: number;
    exportDays: number;
    feedRatePerMinute: number;
    /** Where an import URL may point (providers/ical/url-policy.ts). */
    importPolicy: { allowedHosts: string[]; requireHttps: boolean; maxRedirects: number };
  };
  sync: { quietMs: number; maxDelayMs: number; maxPushesPerMinute: number };
  reservationIdleCloseMs: number;
  /** Hour (0-23, server time) of the nightly full resync; undefined = no schedule. */
  resyncHour?: number;
}

const base64Key = (key: string) => (/^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, 'hex').toString('base64') : key);

/**
 * A token from a real API is a working bearer token: sealing it with the published development key
 * would hand it to anyone holding a database dump. So the development key stands in only in development
 * while every OAuth provider in use talks to Skerry's own sandbox; otherwise TOKEN_ENCRYPTION_KEY is required.
 */
function tokenEncryptionKeys(e: Env, oauthAgainstRealApis: readonly string[]): TokenEncryptionKeys {
  if (!e.TOKEN_ENCRYPTION_KEY && oauthAgainstRealApis.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n  TOKEN_ENCRYPTION_KEY: required when an OAuth provider calls a real API (${oauthAgainstRealApis.join(', ')}): it seals their tokens at rest, and the development key is published`,
    );
  }
  if (!e.TOKEN_ENCRYPTION_KEY && e.APP_ENV !== 'development') {
    // Outside development the key also encrypts every workflow payload (guests' and payers' data):
    // with the published development key a history would be as good as plain text.
    throw new ConfigError(
      `Invalid configuration:\n  TOKEN_ENCRYPTION_KEY: required when APP_ENV=${e.APP_ENV}: it encrypts workflow payloads and seals tokens at rest, and the development key is published`,
    );
  }
  if (e.TOKEN_ENCRYPTION_KEY_PREVIOUS && !e.TOKEN_ENCRYPTION_KEY) {
    throw new ConfigError('Invalid configuration:\n  TOKEN_ENCRYPTION_KEY_PREVIOUS: the key being rotated out needs the new one in TOKEN_ENCRYPTION_KEY');
  }
  const current = base64Key(e.TOKEN_ENCRYPTION_KEY ?? CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey);
  const previous = e.TOKEN_ENCRYPTION_KEY_PREVIOUS ? base64Key(e.TOKEN_ENCRYPTION_KEY_PREVIOUS) : undefined;
  return previous && previous !== current ? { current, previous } : { current };
}

const BOOKING_COM_SUPPLY_HOST = 'supply-xml.booking.com';

/** Where Booking.com serves reservations, given where ARI goes: its secure host beside its supply host, else the same base. */
export function secureApiBaseFor(apiBase: string): string {
  const url = new URL(apiBase);
  if (url.hostname !== BOOKING_COM_SUPPLY_HOST) return apiBase;
  url.hostname = `secure-${BOOKING_COM_SUPPLY_HOST}`;
  return url.toString();
}

/** `paymentOAuthAgainstRealApis`: PayPal and MobilePay, when enabled away from Skerry's sandbox. */
export function channelsConfig(e: Env, sandboxUrl: string, paymentOAuthAgainstRealApis: readonly string[]): ChannelsConfig {
  const development = e.APP_ENV === 'development';
  const bookingSandboxed = development && !e.BOOKING_COM_USERNAME;
  if (e.BOOKING_COM_USERNAME && !e.BOOKING_COM_PASSWORD) {
    throw new ConfigError('Invalid configuration:\n  BOOKING_COM_PASSWORD: required with BOOKING_COM_USERNAME');
  }
  const airbnbSandboxed = development && !e.AIRBNB_CLIENT_ID;
  if (e.AIRBNB_CLIENT_ID && !e.AIRBNB_CLIENT_SECRET) {
    throw new ConfigError('Invalid configuration:\n  AIRBNB_CLIENT_SECRET: required with AIRBNB_CLIENT_ID');
  }
  if (!development && e.AIRBNB_CLIENT_ID && e.AIRBNB_WEBHOOK_SECRET.length === 0) {
    throw new ConfigError(`Invalid configuration:\n  AIRBNB_WEBHOOK_SECRET: required with AIRBNB_CLIENT_ID when APP_ENV=${e.APP_ENV}`);
  }
  const airbnbEnabled = Boolean(e.AIRBNB_CLIENT_ID) || airbnbSandboxed;
  const airbnbApiBase = e.AIRBNB_API_BASE ?? (airbnbSandboxed ? `${sandboxUrl}/airbnb` : 'https://api.airbnb.com');
  const airbnbAgainstRealApi = airbnbEnabled && !airbnbApiBase.startsWith(`${sandboxUrl}/`);
  const tokenEncryptionKey = tokenEncryptionKeys(e, [...paymentOAuthAgainstRealApis, ...(airbnbAgainstRealApi ? [`Airbnb at ${airbnbApiBase}`] : [])]);
  const bookingEnabled = Boolean(e.BOOKING_COM_USERNAME) || bookingSandboxed;
  // The sandbox serves Booking.com's two hosts under two paths (sandbox/booking-com/plugin.ts).
  const bookingApiBase = e.BOOKING_COM_API_BASE ?? (bookingSandboxed ? `${sandboxUrl}/booking-com/supply-xml` : 'https://supply-xml.booking.com');
  const bookingSecureApiBase =
    e.BOOKING_COM_SECURE_API_BASE ?? (bookingSandboxed && !e.BOOKING_COM_API_BASE ? `${sandboxUrl}/booking-com/secure-supply-xml` : secureApiBaseFor(bookingApiBase));
  const channexSandboxed = development && !e.CHANNEX_API_KEY;
  const channexEnabled = Boolean(e.CHANNEX_API_KEY) || channexSandboxed;
  const channexApiBase = e.CHANNEX_API_BASE ?? (channexSandboxed ? `${sandboxUrl}/channex` : 'https://app.channex.io');
  // The published sandbox credentials and webhook secret only for an API on this machine.
  const requireOwn = (variable: string, given: boolean, channel: string, enabled: boolean, apiBase: string) => {
    if (enabled && !given && !isLoopbackApi(apiBase)) {
      throw invalid(variable, `required when ${channel} calls ${apiBase}: the sandbox's value is published, so it is used only with a loopback API base`);
    }
  };
  requireOwn('BOOKING_COM_USERNAME', Boolean(e.BOOKING_COM_USERNAME), 'Booking.com', bookingEnabled, bookingApiBase);
  requireOwn('AIRBNB_CLIENT_ID', Boolean(e.AIRBNB_CLIENT_ID), 'Airbnb', airbnbEnabled, airbnbApiBase);
  requireOwn('AIRBNB_WEBHOOK_SECRET', e.AIRBNB_WEBHOOK_SECRET.length > 0, 'Airbnb', airbnbEnabled, airbnbApiBase);
  requireOwn('CHANNEX_API_KEY', Boolean(e.CHANNEX_API_KEY), 'Channex', channexEnabled, channexApiBase);
  requireOwn('CHANNEX_WEBHOOK_SECRET', e.CHANNEX_WEBHOOK_SECRET.length > 0, 'Channex', channexEnabled, channexApiBase);
  return {
    tokenEncryptionKey,
    bookingCom: {
      enabled: bookingEnabled,
      sandboxed: bookingSandboxed,
      username: e.BOOKING_COM_USERNAME ?? CHANNEL_SANDBOX_DEFAULTS.bookingComUsername,
      password: e.BOOKING_COM_PASSWORD ?? CHANNEL_SANDBOX_DEFAULTS.bookingComPassword,
      apiBase: bookingApiBase,
      secureApiBase: bookingSecureApiBase,
      pollIntervalMs: e.BOOKING_COM_POLL_INTERVAL_MS,
    },
    airbnb: {
      enabled: airbnbEnabled,
      sandboxed: airbnbSandboxed,
      clientId: e.AIRBNB_CLIENT_ID ?? CHANNEL_SANDBOX_DEFAULTS.airbnbClientId,
      clientSecret: e.AIRBNB_CLIENT_SECRET ?? CHANNEL_SANDBOX_DEFAULTS.airbnbClientSecret,
      apiBase: airbnbApiBase,
      webhookSecrets: e.AIRBNB_WEBHOOK_SECRET.length > 0 ? e.AIRBNB_WEBHOOK_SECRET : [CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret],
      webhookToleranceSeconds: e.AIRBNB_WEBHOOK_TOLERANCE_SECONDS,
    },
    channex: {
      enabled: channexEnabled,
      sandboxed: channexSandboxed,
      apiKey: e.CHANNEX_API_KEY ?? CHANNEL_SANDBOX_DEFAULTS.channexApiKey,
      apiBase: channexApiBase,
      webhookHeader: e.CHANNEX_WEBHOOK_HEADER,
      webhookSecrets: e.CHANNEX_WEBHOOK_SECRET.length > 0 ? e.CHANNEX_WEBHOOK_SECRET : [CHANNEL_SANDBOX_DEFAULTS.channexWebhookSecret],
      pollIntervalMs: e.CHANNEX_POLL_INTERVAL_MS,
      requestsPerWindow: 10,
      rateWindowSeconds: e.CHANNEX_RATE_WINDOW_SECONDS,
    },
    ical: {
      pollIntervalMs: e.ICAL_POLL_INTERVAL_MS,
      graceMs: e.ICAL_GRACE_MS,
      staleAfterMs: e.ICAL_STALE_AFTER_MS,
      maxBytes: e.ICAL_MAX_BYTES,
      exportDays: e.ICAL_EXPORT_DAYS,
      feedRatePerMinute: e.ICAL_FEED_RATE_PER_MINUTE,
      importPolicy: {
        allowedHosts: e.ICAL_IMPORT_ALLOWED_HOSTS,
        requireHttps: e.ICAL_IMPORT_REQUIRE_HTTPS === undefined ? e.APP_ENV !== 'development' : e.ICAL_IMPORT_REQUIRE_HTTPS === 'true' || e.ICAL_IMPORT_REQUIRE_HTTPS === '1',
        maxRedirects: e.ICAL_IMPORT_MAX_REDIRECTS,
      },
    },
    sync: { quietMs: e.CHANNEL_SYNC_QUIET_MS, maxDelayMs: e.CHANNEL_SYNC_MAX_DELAY_MS, maxPushesPerMinute: e.CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE },
    reservationIdleCloseMs: e.RESERVATION_IDLE_CLOSE_MS,
    resyncHour: e.CHANNEL_RESYNC_HOUR === 'off' ? undefined : e.CHANNEL_RESYNC_HOUR,
  };
}
