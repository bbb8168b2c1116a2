import pino, { type DestinationStream, type Logger } from 'pino';

// Keys whose values are secrets, card data or personal data, wherever they appear in a log line.
// Matching ignores case, `_` and `-` (client_secret = clientSecret = Client-Secret).
const SECRET_KEYS = [
  'secret', 'secretKey', 'apiKey', 'key', 'password', 'passphrase', 'token', 'accessToken', 'refreshToken', 'idToken',
  'clientSecret', 'authorization', 'cookie', 'setCookie', 'signature', 'stripeSignature', 'privateKey', 'webhookSecret',
  'subscriptionKey', 'ocpApimSubscriptionKey',
];
const CARD_KEYS = ['card', 'cardNumber', 'number', 'pan', 'cvc', 'cvv', 'cvc2', 'securityCode', 'iban', 'accountNumber', 'expMonth', 'expYear'];
const PERSONAL_KEYS = [
  'email', 'emailAddress', 'phone', 'phoneNumber', 'mobileNumber', 'msisdn', 'alias', 'payerAlias', 'payeeAlias', 'name', 'fullName', 'givenName', 'surname',
  'familyName', 'firstName', 'lastName', 'address', 'billingDetails', 'shipping', 'shippingAddress', 'birthDate', 'dateOfBirth',
  'ssn', 'personalNumber', 'nationalIdentityNumber', 'guest', 'guestName',
  // A payment's description is free text for the payer's statement: a direct booking's names its guest.
  'description',
];

const normalize = (key: string) => key.toLowerCase().replace(/[_-]/g, '');
const SENSITIVE = new Set([...SECRET_KEYS, ...CARD_KEYS, ...PERSONAL_KEYS].map(normalize));

/**
 * pino's own redaction (fast-redact) for the common places, at a fixed depth. It runs at
 * serialization; `scrubForLog` (formatters.log) covers every depth and values in unexpected keys.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  '*.secretKey',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.client_secret',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers["stripe-signature"]',
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  '*.card',
  '*.email',
  '*.phone',
  '*.payerAlias',
  // Request and response bodies (debug level), one and two levels in.
  ...['request', 'response', 'body'].flatMap((root) =>
    ['card', 'email', 'phone', 'payerAlias', 'password', 'clientSecret', 'client_secret', 'apiKey', 'token'].flatMap((key) => [
      `${root}.${key}`,
      `${root}.*.${key}`,
    ]),
  ),
];

// Values that are sensitive whatever key holds them.
const SECRET_VALUE = /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=_-]+|_secret_[A-Za-z0-9]+|\bBearer\s+[A-Za-z0-9._~+/=-]+/g;
const EMAIL_VALUE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const CARD_VALUE = /\b\d(?:[ -]?\d){12,18}\b/g;
// International phone numbers (+46 70 123 45 67, +4570123456): payers' MobilePay and Swish numbers.
const PHONE_VALUE = /\+\d(?:[ -]?\d){6,14}\b/g;
// A URL's query values under names that carry credentials (an OAuth callback's `code`, a `state`, a token).
const SECRET_QUERY_VALUE =
  /([?&](?:code|state|token|access_token|refresh_token|id_token|client_secret|secret|password|key|api_key|apikey|signature|sig)=)[^&#\s"']+/gi;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function scrubString(text: string): string {
  return text
    .replace(SECRET_VALUE, '[redacted]')
    .replace(SECRET_QUERY_VALUE, '$1[redacted]')
    .replace(EMAIL_VALUE, '[email]')
    .replace(PHONE_VALUE, '[phone]')
    .replace(CARD_VALUE, (match) => (luhn(match.replace(/\D/g, '')) ? '[card]' : match));
}

const MAX_DEPTH = 8;

/**
 * A copy of a value safe to log: sensitive keys censored at any depth, secret keys, credential query
 * values, e-mail addresses, phone numbers and card numbers (Luhn-valid 13-19 digits) masked inside
 * any string. Used for every log line and
 * for request/response bodies logged at debug level.
 */
export function scrubForLog(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[depth]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const { code, type, cause } = value as Error & { code?: unknown; type?: unknown };
    return {
      type: typeof type === 'string' ? type : value.name,
      message: scrubString(value.message),
      stack: value.stack && scrubString(value.stack),
      ...(code !== undefined ? { code } : {}),
      ...(cause !== undefined ? { cause: scrubForLog(cause, depth + 1, seen) } : {}),
    };
  }
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => scrubForLog(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SENSITIVE.has(normalize(key)) && item !== null && item !== undefined ? '[redacted]' : scrubForLog(item, depth + 1, seen);
  }
  return out;
}

/**
 * Bindings (a child logger's fields, the base fields) scrubbed like any field, except the logger's
 * own `name`, which pino keeps among them and which names a component, never a person.
 */
function scrubBindings(bindings: Record<string, unknown>): Record<string, unknown> {
  const { name, ...rest } = bindings;
  const scrubbed = scrubForLog(rest) as Record<string, unknown>;
  return name === undefined ? scrubbed : { name: typeof name === 'string' ? scrubString(name) : scrubForLog(name), ...scrubbed };
}

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const logger = pino(
    {
      name: options.name ?? 'skerry',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: options.name ?? 'skerry' },
      formatters: {
        log: (object) => scrubForLog(object) as Record<string, unknown>,
        bindings: scrubBindings,
      },
      hooks: {
        // The message and its printf-style arguments: formatters.log only sees the fields object.
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubString(arg) : arg));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
  // pino applies formatters.bindings to the root's bindings only (a child resets it), so every
  // child is made through this: children inherit it, being prototypes of their parent.
  const makeChild = logger.child;
  logger.child = function scrubbedChild(this: Logger, bindings, childOptions) {
    return makeChild.call(this, scrubBindings(bindings as Record<string, unknown>), childOptions);
  } as typeof logger.child;
  return logger;
}

export type { Logger };
