import pino, { type Logger } from 'pino';

/** Paths that may hold secrets or card/personal data, wherever they appear in a log line. */
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
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'skerry',
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: options.name ?? 'skerry' },
  });
}

export type { Logger };
