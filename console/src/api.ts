// The console talks to the admin API like any other client: openapi-fetch typed by the paths
// generated from the server's own OpenAPI document (stack/console-build.ts), the key from sessionStorage.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './generated/api';

const KEY = 'skerry.apiKey';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

const auth: Middleware = {
  onRequest({ request }) {
    const key = session.key();
    if (key) request.headers.set('authorization', `Bearer ${key}`);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });

type Method = 'get' | 'post' | 'put' | 'patch';
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
/** The JSON a route answers on success (200, 201 or 202), as the OpenAPI document describes it. */
export type Answer<P extends keyof paths, M extends Method = 'get'> =
  NonNullable<paths[P][M]> extends { responses: infer R } ? Json<R extends { 200: infer S } ? S : R extends { 201: infer S } ? S : R extends { 202: infer S } ? S : never> : never;
api.use(auth);

/** An answer the page cannot use, said as a sentence a person can act on. */
export class ApiError extends Error {}

export function sentence(status: number, body: unknown): string {
  const message = (body as { message?: string } | undefined)?.message;
  if (status === 401) return 'This API key was not accepted. Sign in again with a valid key.';
  if (status === 403) return `This API key may not do that${message ? ` (${message})` : ''}.`;
  if (status === 404) return message ? `Not found: ${message}.` : 'Not found.';
  if (status === 503) return 'A service Skerry depends on is unavailable right now. Try again in a moment.';
  if (status >= 500) return 'Skerry could not answer this request. Try again; if it keeps failing, look at the server log.';
  return message ? `The request was refused: ${message}.` : `The request was refused (HTTP ${status}).`;
}

/** Unwraps an openapi-fetch answer, or throws its error as a sentence. */
export function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw new ApiError(sentence(result.response.status, result.error));
}

export const idempotencyKey = () => crypto.randomUUID();
