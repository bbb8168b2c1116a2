// How the CLI talks to the admin API: the base URL and key every command shares, one JSON call with
// the exit code its answer maps to, and errors a script can tell apart by that code.
export const EXIT = { ok: 0, usage: 1, notFound: 2, unavailable: 3, server: 4, unauthorized: 5 } as const;

export const EXIT_HELP = `
Exit codes:
  0  ok
  1  usage: unknown command or option, invalid input (HTTP 400, 415, 422)
  2  not found (HTTP 404)
  3  conflict or unavailable: the request cannot be done in this state (HTTP 409), the API or a
     feature is not available (HTTP 503, connection refused, a route this server does not have)
  4  server error (HTTP 5xx, a provider error answered 502)
  5  not allowed: no API key, an unknown or revoked one (HTTP 401), or one without the scope (HTTP 403)

Environment:
  SKERRY_API_URL  the admin API's base URL (default http://127.0.0.1:3000); --api overrides it
  SKERRY_API_KEY  the API key sent as Authorization: Bearer (npm start prints one); --api-key overrides it
  DATABASE_URL    where \`skerry keys\` keeps API keys (default: npm start's embedded PostgreSQL)`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  api: string;
  apiKey?: string;
  json: boolean;
}

function exitCodeFor(status: number): number {
  if (status === 400 || status === 415 || status === 422) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.unauthorized;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 503) return EXIT.unavailable;
  return EXIT.server;
}

export async function call<T = unknown>(opts: GlobalOptions, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const url = `${opts.api.replace(/\/+$/, '')}${path}`;
  // The API takes JSON on every state-changing request: {} when there is nothing to say.
  const payload = body ?? (method === 'GET' ? undefined : {});
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: payload === undefined ? undefined : JSON.stringify(payload),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the Skerry API at ${opts.api}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.unavailable);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = (parsed as { message?: string } | undefined)?.message ?? `${response.status} ${response.statusText}`;
    const hint = response.status === 401 && !opts.apiKey ? ' (set SKERRY_API_KEY or pass --api-key; npm start prints a key)' : '';
    throw new CliError(`${method} ${path}: ${message}${hint}`, exitCodeFor(response.status));
  }
  return parsed as T;
}

/** A route this server does not have (an older deployment, a feature not built): exit 3, said plainly. */
export async function callFeature<T>(opts: GlobalOptions, feature: string, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await call<T>(opts, method, path, body);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.notFound && /Route .* not found/i.test(err.message)) {
      throw new CliError(`${feature} is not available on this server (${opts.api} has no ${method} ${path.split('?')[0]})`, EXIT.unavailable);
    }
    throw err;
  }
}
