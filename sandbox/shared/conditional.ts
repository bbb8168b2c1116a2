// Conditional GETs in every sandbox: a 200 answer to a GET carries an ETag (a digest of its body),
// and a GET whose If-None-Match names the current ETag is answered 304 Not Modified without a body.
// Skerry's clients use this through their response cache (providers/resilience/response-cache.ts).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const etagOf = (body: string | Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

function matches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  const values = (Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : (ifNoneMatch ?? '')).split(',').map((value) => value.trim().replace(/^W\//, ''));
  return values.includes('*') || values.includes(etag);
}

export function installConditionalGets(app: FastifyInstance, options: { appliesTo: (request: FastifyRequest) => boolean }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' || reply.statusCode !== 200 || !options.appliesTo(request)) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const etag = etagOf(payload);
    void reply.header('etag', etag);
    if (!matches(request.headers['if-none-match'], etag)) return payload;
    void reply.code(304);
    void reply.removeHeader('content-length');
    return '';
  });
}
