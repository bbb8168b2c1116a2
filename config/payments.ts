// The four payment providers' sections of the configuration. Each provider runs either against
// Skerry's sandbox (development without credentials) or with the credentials it is given. The
// published sandbox values (config/sandbox-defaults.ts) stand in only while the provider's API base
// is a loopback address: a real API with a published webhook secret or webhook id would let anyone
// forge its webhooks, so the start stops and names the missing variable instead.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Env } from './env-schema';
import { invalid } from './errors';
import type { PreviousWebhookSecrets } from './resilience';
import { SANDBOX_DEFAULTS, isLoopbackApi } from './sandbox-defaults';

export interface StripeConfig {
  secretKey: string;
  apiBase?: string;
  webhookSecrets: readonly string[];
  /** The secret being rotated out, accepted alongside until its overlap ends. */
  previousWebhookSecrets?: PreviousWebhookSecrets;
  webhookToleranceSeconds: number;
  /** Credentials are configured, or (development only) the sandbox stands in. */
  enabled: boolean;
  /** True when Stripe calls go to Skerry's own sandbox rather than api.stripe.com. */
  sandboxed: boolean;
}

export interface PayPalConfig {
  clientId: string;
  clientSecret: string;
  /** Skerry's sandbox, https://api-m.sandbox.paypal.com (staging, development with keys) or https://api-m.paypal.com (production). */
  apiBase: string;
  /** The id PayPal gave the webhook endpoint; verify-webhook-signature checks transmissions against it. */
  webhookId: string;
  /**
   * Where PayPal sends the payer's browser after approving (`experience_context.return_url`) and after
   * cancelling (`cancel_url`): the public door's return page; `{paymentId}` is filled in.
   */
  returnUrl: string;
  cancelUrl: string;
  /** Credentials are configured, or (development only) the sandbox stands in. */
  enabled: boolean;
  /** True when PayPal calls go to Skerry's own sandbox. */
  sandboxed: boolean;
}

export interface MobilePayConfig {
  clientId: string;
  clientSecret: string;
  subscriptionKey: string;
  merchantSerialNumber: string;
  /** Skerry's sandbox, https://apitest.vipps.no (staging, development with real keys) or https://api.vipps.no (production). */
  apiBase: string;
  /** Where the payer returns from the app; `{paymentId}` and `{reference}` are filled in. */
  returnUrl: string;
  /** MOBILEPAY_WEBHOOK_SECRET: accepted beside the secrets of registrations stored in provider_webhooks. */
  webhookSecrets: readonly string[];
  /** The secret being rotated out, accepted alongside until its overlap ends. */
  previousWebhookSecrets?: PreviousWebhookSecrets;
  webhookToleranceSeconds: number;
  /** Credentials are configured, or (development only) the sandbox stands in. */
  enabled: boolean;
  /** True when MobilePay calls go to Skerry's own sandbox. */
  sandboxed: boolean;
}

export interface SwishConfig {
  /** Up to `/swish-cpcapi`: Skerry's sandbox, the simulator (MSS) or cpc.getswish.net. */
  apiBase: string;
  /** The merchant's Swish number. */
  payeeAlias: string;
  /** Merchant client certificate (with chain) and key, and an optional CA: each PEM text or a file path. */
  cert: string;
  key: string;
  ca?: string;
  passphrase?: string;
  /** Where Swish posts callbacks. */
  callbackUrl: string;
  /** Credentials are configured, or (development only) the sandbox stands in. */
  enabled: boolean;
  /** True when Swish calls go to Skerry's own sandbox (development without SWISH_CERT). */
  sandboxed: boolean;
  /** Where the sandbox keeps its generated test CA and merchant certificate. */
  sandboxCertDir: string;
  /** The bank's Swish settlement report (Swish itself lists no transactions); unset: not reconciled. */
  settlementReportUrl?: string;
}

/** What every section needs to know about the deployment around it. */
export interface SectionContext {
  sandboxUrl: string;
  /** An API base under SANDBOX_URL: the provider's calls (and webhooks) are Skerry's sandbox's. */
  atSandbox: (base: string | undefined) => boolean;
}

const publishedFallback = (what: string, base: string | undefined) =>
  `required when ${what} calls ${base ?? 'its real API'}: the sandbox's value is published, so it is used only with a loopback API base`;

/** The variable that must be set, because the published sandbox value would otherwise meet a real API. */
function requireOwn(variable: string, given: boolean, provider: { name: string; enabled: boolean; apiBase: string | undefined }): void {
  if (provider.enabled && !given && !isLoopbackApi(provider.apiBase)) throw invalid(variable, publishedFallback(provider.name, provider.apiBase));
}

export function stripeConfig(e: Env, ctx: SectionContext): Omit<StripeConfig, 'previousWebhookSecrets'> {
  const key = e.STRIPE_SECRET_KEY;
  if (e.APP_ENV === 'production' && key?.includes('_test_')) throw invalid('STRIPE_SECRET_KEY', 'a test key cannot be used when APP_ENV=production');
  if (e.APP_ENV !== 'production' && key?.includes('_live_')) {
    throw invalid('STRIPE_SECRET_KEY', `a live key cannot be used when APP_ENV=${e.APP_ENV}: it moves real money`);
  }
  if (e.APP_ENV !== 'development' && key && e.STRIPE_WEBHOOK_SECRET.length === 0) throw invalid('STRIPE_WEBHOOK_SECRET', `required when APP_ENV=${e.APP_ENV}`);
  // A provider without credentials is simply not offered outside development; in development its
  // sandbox stands in.
  const sandboxed = e.APP_ENV === 'development' && !key;
  const apiBase = e.STRIPE_API_BASE ?? (sandboxed ? `${ctx.sandboxUrl}/stripe` : undefined);
  const enabled = Boolean(key) || sandboxed;
  const provider = { name: 'Stripe', enabled, apiBase };
  requireOwn('STRIPE_SECRET_KEY', Boolean(key), provider);
  requireOwn('STRIPE_WEBHOOK_SECRET', e.STRIPE_WEBHOOK_SECRET.length > 0, provider);
  return {
    secretKey: key ?? SANDBOX_DEFAULTS.stripeSecretKey,
    apiBase,
    webhookSecrets: e.STRIPE_WEBHOOK_SECRET.length > 0 ? e.STRIPE_WEBHOOK_SECRET : [SANDBOX_DEFAULTS.stripeWebhookSecret],
    webhookToleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    enabled,
    sandboxed: sandboxed || ctx.atSandbox(apiBase),
  };
}

/** The public door, where providers send the payer's browser back to (api/public/return-page.ts). */
const returnPageBase = (e: Env) => (e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`).replace(/\/+$/, '');

export function paypalConfig(e: Env, ctx: SectionContext): PayPalConfig {
  const sandboxed = e.APP_ENV === 'development' && !e.PAYPAL_CLIENT_ID;
  if (e.PAYPAL_CLIENT_ID && !e.PAYPAL_CLIENT_SECRET) throw invalid('PAYPAL_CLIENT_SECRET', 'required with PAYPAL_CLIENT_ID');
  const apiBase =
    e.PAYPAL_API_BASE ??
    (sandboxed ? `${ctx.sandboxUrl}/paypal` : e.APP_ENV === 'production' ? 'https://api-m.paypal.com' : 'https://api-m.sandbox.paypal.com');
  if (e.APP_ENV === 'production' && new URL(apiBase).hostname === 'api-m.sandbox.paypal.com') {
    throw invalid('PAYPAL_API_BASE', 'the PayPal sandbox cannot be used when APP_ENV=production');
  }
  if (e.APP_ENV !== 'development' && e.PAYPAL_CLIENT_ID && !e.PAYPAL_WEBHOOK_ID) throw invalid('PAYPAL_WEBHOOK_ID', `required when APP_ENV=${e.APP_ENV}`);
  const enabled = Boolean(e.PAYPAL_CLIENT_ID) || sandboxed;
  const provider = { name: 'PayPal', enabled, apiBase };
  requireOwn('PAYPAL_CLIENT_ID', Boolean(e.PAYPAL_CLIENT_ID), provider);
  requireOwn('PAYPAL_WEBHOOK_ID', Boolean(e.PAYPAL_WEBHOOK_ID), provider);
  return {
    clientId: e.PAYPAL_CLIENT_ID ?? SANDBOX_DEFAULTS.paypalClientId,
    clientSecret: e.PAYPAL_CLIENT_SECRET ?? SANDBOX_DEFAULTS.paypalClientSecret,
    apiBase,
    webhookId: e.PAYPAL_WEBHOOK_ID ?? SANDBOX_DEFAULTS.paypalWebhookId,
    returnUrl: `${returnPageBase(e)}/payments/{paymentId}/return`,
    cancelUrl: `${returnPageBase(e)}/payments/{paymentId}/return?cancelled=true`,
    enabled,
    sandboxed: sandboxed || ctx.atSandbox(apiBase),
  };
}

export function mobilepayConfig(e: Env, ctx: SectionContext): Omit<MobilePayConfig, 'previousWebhookSecrets'> {
  const sandboxed = e.APP_ENV === 'development' && !e.MOBILEPAY_CLIENT_ID;
  if (e.MOBILEPAY_CLIENT_ID) {
    for (const name of ['MOBILEPAY_CLIENT_SECRET', 'MOBILEPAY_SUBSCRIPTION_KEY', 'MOBILEPAY_MSN'] as const) {
      if (!e[name]) throw invalid(name, 'required with MOBILEPAY_CLIENT_ID');
    }
  }
  const apiBase =
    e.MOBILEPAY_API_BASE ?? (sandboxed ? `${ctx.sandboxUrl}/mobilepay` : e.APP_ENV === 'production' ? 'https://api.vipps.no' : 'https://apitest.vipps.no');
  if (e.APP_ENV === 'production' && new URL(apiBase).hostname === 'apitest.vipps.no') {
    throw invalid('MOBILEPAY_API_BASE', 'the test environment cannot be used when APP_ENV=production');
  }
  if (e.APP_ENV !== 'development' && e.MOBILEPAY_CLIENT_ID) {
    if (!e.MOBILEPAY_RETURN_URL) throw invalid('MOBILEPAY_RETURN_URL', `required when APP_ENV=${e.APP_ENV}`);
  }
  const enabled = Boolean(e.MOBILEPAY_CLIENT_ID) || sandboxed;
  const returnUrl = e.MOBILEPAY_RETURN_URL ?? `${e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`}/payments/{paymentId}/return`;
  // ePayment refuses an http returnUrl (https or an app scheme only); only the sandbox lets loopback http through.
  if (enabled && !isLoopbackApi(apiBase) && new URL(returnUrl).protocol === 'http:') {
    throw invalid('MOBILEPAY_RETURN_URL', `must be https (or an app scheme) when MobilePay calls ${apiBase}; it is ${returnUrl}${e.MOBILEPAY_RETURN_URL ? '' : ' (from PUBLIC_URL)'}`);
  }
  const provider = { name: 'MobilePay', enabled, apiBase };
  requireOwn('MOBILEPAY_CLIENT_ID', Boolean(e.MOBILEPAY_CLIENT_ID), provider);
  return {
    clientId: e.MOBILEPAY_CLIENT_ID ?? SANDBOX_DEFAULTS.mobilepayClientId,
    clientSecret: e.MOBILEPAY_CLIENT_SECRET ?? SANDBOX_DEFAULTS.mobilepayClientSecret,
    subscriptionKey: e.MOBILEPAY_SUBSCRIPTION_KEY ?? SANDBOX_DEFAULTS.mobilepaySubscriptionKey,
    merchantSerialNumber: e.MOBILEPAY_MSN ?? SANDBOX_DEFAULTS.mobilepayMsn,
    apiBase,
    returnUrl,
    // Optional: `skerry mobilepay webhooks register` stores the secret Vipps returns, and the verifier
    // accepts it beside these. The published sandbox secret only ever with a loopback API.
    webhookSecrets:
      e.MOBILEPAY_WEBHOOK_SECRET.length > 0 ? e.MOBILEPAY_WEBHOOK_SECRET : isLoopbackApi(apiBase) ? [SANDBOX_DEFAULTS.mobilepayWebhookSecret] : [],
    webhookToleranceSeconds: e.MOBILEPAY_WEBHOOK_TOLERANCE_SECONDS,
    enabled,
    sandboxed: sandboxed || ctx.atSandbox(apiBase),
  };
}

export function swishConfig(e: Env, ctx: SectionContext): SwishConfig {
  const sandboxed = e.APP_ENV === 'development' && !e.SWISH_CERT;
  if (e.SWISH_CERT) {
    // A PKCS#12 file (.p12/.pfx, as Swish hands them out) carries the key itself.
    for (const name of /\.(p12|pfx)$/i.test(e.SWISH_CERT.trim()) ? (['SWISH_PAYEE_ALIAS'] as const) : (['SWISH_KEY', 'SWISH_PAYEE_ALIAS'] as const)) {
      if (!e[name]) throw invalid(name, 'required with SWISH_CERT');
    }
  }
  for (const name of ['SWISH_CERT', 'SWISH_KEY', 'SWISH_CA'] as const) {
    const value = e[name];
    if (value && !value.includes('-----BEGIN') && !existsSync(resolve(value))) {
      throw invalid(name, `no file at ${value} (give a PEM or .p12 file path, or the PEM text)`);
    }
  }
  const apiBase =
    e.SWISH_API_BASE ??
    (sandboxed
      ? `https://127.0.0.1:${e.SANDBOX_SWISH_PORT}/swish-cpcapi`
      : e.APP_ENV === 'production'
        ? 'https://cpc.getswish.net/swish-cpcapi'
        : 'https://mss.cpc.getswish.net/swish-cpcapi');
  if (e.APP_ENV === 'production' && new URL(apiBase).hostname === 'mss.cpc.getswish.net') {
    throw invalid('SWISH_API_BASE', 'the Merchant Swish Simulator cannot be used when APP_ENV=production');
  }
  const callbackBase = (e.SWISH_CALLBACK_BASE_URL ?? e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`).replace(/\/+$/, '');
  // MSS and production answer RP03 to every create with an http callback URL.
  if ((Boolean(e.SWISH_CERT) || sandboxed) && !isLoopbackApi(apiBase) && !callbackBase.startsWith('https://')) {
    throw invalid('SWISH_CALLBACK_BASE_URL', `must be https when Swish is called at ${apiBase}: Swish calls back only over https (it is ${callbackBase}${e.SWISH_CALLBACK_BASE_URL ? '' : ', from PUBLIC_URL'})`);
  }
  const enabled = Boolean(e.SWISH_CERT) || sandboxed;
  // The sandbox's generated certificate (and Swish's test merchant number) only for a local API.
  requireOwn('SWISH_CERT', Boolean(e.SWISH_CERT), { name: 'Swish', enabled, apiBase });
  const sandboxCertDir = resolve(e.DATA_DIR, 'swish-sandbox');
  return {
    apiBase,
    payeeAlias: e.SWISH_PAYEE_ALIAS ?? SANDBOX_DEFAULTS.swishPayeeAlias,
    // In the sandbox: the files sandbox/swish/certs.ts writes (ca.pem, client.pem, client-key.pem).
    cert: e.SWISH_CERT ?? resolve(sandboxCertDir, 'client.pem'),
    key: e.SWISH_KEY ?? resolve(sandboxCertDir, 'client-key.pem'),
    ca: e.SWISH_CA ?? (sandboxed ? resolve(sandboxCertDir, 'ca.pem') : undefined),
    passphrase: e.SWISH_CERT_PASSPHRASE,
    callbackUrl: `${callbackBase}/webhooks/swish`,
    enabled,
    sandboxed,
    sandboxCertDir,
    settlementReportUrl: e.SWISH_SETTLEMENT_REPORT_URL ?? (sandboxed ? `${ctx.sandboxUrl}/swish/bank` : undefined),
  };
}

/** Which OAuth payment providers call a real API (their tokens then need a key of the deployment's own). */
export function paymentOAuthAgainstRealApis(paypal: PayPalConfig, mobilepay: Pick<MobilePayConfig, 'enabled' | 'apiBase'>, ctx: SectionContext): string[] {
  return [
    { name: 'PayPal', ...paypal },
    { name: 'MobilePay', ...mobilepay },
  ]
    .filter((provider) => provider.enabled && !ctx.atSandbox(provider.apiBase))
    .map((provider) => `${provider.name} at ${provider.apiBase}`);
}
