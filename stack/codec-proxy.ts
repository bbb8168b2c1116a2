// What lets the development Web UI show decrypted payloads. The UI's codec client (the browser) can
// send no API key of ours, and Skerry's codec server (POST /codec/decode on the admin door) answers
// only to a key with the `read` scope. So the UI talks to this loopback proxy, which adds the key and
// forwards: the development twin of the authenticating proxy docs/operations.md describes for a
// self-hosted Web UI. Only /decode and /encode pass, only JSON, and only the UI's own origin may
// read the answers (CORS).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where to forward, and with which key; undefined while the API is not up yet (the UI then gets 503). */
export type CodecTarget = () => Promise<{ url: string; apiKey: string } | undefined>;

export interface CodecProxy {
  /** For `--ui-codec-endpoint`. */
  url: string;
  close(): Promise<void>;
}

const BODY_LIMIT = 8 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startCodecProxy(options: { target: CodecTarget; uiOrigins: readonly string[] }): Promise<CodecProxy> {
  const origins = new Set(options.uiOrigins);
  const answer = (response: ServerResponse, status: number, body: string, type = 'application/json') => {
    response.writeHead(status, { 'content-type': type }).end(body);
  };

  const server = createServer((request, response) => {
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin)) return answer(response, 403, JSON.stringify({ error: 'forbidden', message: 'not the Web UI' }));
    if (origin) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'origin');
    }
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'OPTIONS') {
      response.setHeader('access-control-allow-methods', 'POST');
      response.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      response.setHeader('access-control-max-age', '600');
      return void response.writeHead(204).end();
    }
    if (request.method !== 'POST' || (path !== '/decode' && path !== '/encode')) return answer(response, 404, JSON.stringify({ error: 'not_found', message: 'POST /decode or /encode' }));
    // JSON only: a cross-site form post (text/plain, no preflight) is not let through.
    if ((request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return answer(response, 415, JSON.stringify({ error: 'unsupported_media_type', message: 'send application/json' }));
    }
    void (async () => {
      const body = await readBody(request);
      if (!body) return answer(response, 413, JSON.stringify({ error: 'payload_too_large', message: `at most ${BODY_LIMIT} bytes` }));
      const target = await options.target();
      if (!target) return answer(response, 503, JSON.stringify({ error: 'unavailable', message: 'the API is not up yet' }));
      const upstream = await fetch(`${target.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${target.apiKey}`,
          ...(request.headers['x-namespace'] ? { 'x-namespace': String(request.headers['x-namespace']) } : {}),
        },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      answer(response, upstream.status, await upstream.text(), upstream.headers.get('content-type') ?? 'application/json');
    })().catch((err: Error) => {
      if (!response.headersSent) answer(response, 502, JSON.stringify({ error: 'bad_gateway', message: `the codec server did not answer: ${err.message}` }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
