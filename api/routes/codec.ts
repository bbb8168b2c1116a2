// The Temporal codec server protocol on the admin door, so the Temporal Web UI (and the CLI's
// `--codec-endpoint`) can show the payloads Skerry encrypts (security/payload-codec.ts):
//
//   POST /codec/decode   {"payloads":[{"metadata":{"encoding":"<base64>",…},"data":"<base64>"}]}
//   POST /codec/encode   the same shape, the other way
//
// The UI posts to `<endpoint>/decode` with `X-Namespace` (one codec serves every namespace here: the
// key is Skerry's, not the namespace's). Access is the admin door's: an API key with the `read` scope
// (api/auth/route-scopes.ts); CORS is the admin door's too (CORS_ORIGINS: add the Web UI's origin).
//
// What goes through here is the plaintext of guests' data: the bodies are kept as bytes end to end,
// so the request log's debug body lines (api/request-log.ts) never see them.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorBody } from '../schemas';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecRoutesOptions {
  codec: PayloadCodec;
}

/** Payloads as protobuf JSON: bytes fields in base64. */
const CodecBody = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.string()).nullish(),
      data: z.string().nullish(),
    }),
  ),
});
type JsonPayload = z.infer<typeof CodecBody>['payloads'][number];

// A history page's payloads together stay under Temporal's own blob limit (2 MiB each, a few at once).
const BODY_LIMIT = 8 * 1024 * 1024;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: metadata ? Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])) : undefined,
  data: data ? Buffer.from(data, 'base64') : undefined,
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: metadata ? Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])) : undefined,
  data: data ? Buffer.from(data).toString('base64') : undefined,
});

export async function codecRoutes(app: FastifyInstance, options: CodecRoutesOptions): Promise<void> {
  // This plugin's own JSON parser: the body stays a Buffer, which the request log does not print.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));

  const route = (direction: 'encode' | 'decode') =>
    app.post(
      `/codec/${direction}`,
      {
        bodyLimit: BODY_LIMIT,
        schema: {
          summary: direction === 'decode' ? 'Decrypt workflow payloads (Temporal codec server protocol)' : 'Encrypt workflow payloads (Temporal codec server protocol)',
          description: 'For the Temporal Web UI and CLI (`--codec-endpoint <admin URL>/codec`): `{"payloads":[{"metadata":{…base64},"data":"base64"}]}` in and out.',
          tags: ['operations'],
          // The handler parses the body itself (kept as bytes, above); the answer is sent as bytes too.
          response: { 200: CodecBody, 400: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        let body: z.infer<typeof CodecBody>;
        try {
          const parsed = CodecBody.safeParse(JSON.parse(Buffer.isBuffer(request.body) ? request.body.toString('utf8') : ''));
          if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
          body = parsed.data;
        } catch (err) {
          return reply.code(400).send({ error: 'invalid_request', message: `body: ${(err as Error).message}` });
        }
        let payloads: Payload[];
        try {
          const given = body.payloads.map(fromJson);
          payloads = direction === 'decode' ? await options.codec.decode(given) : await options.codec.encode(given);
        } catch (err) {
          // An unknown key id or an altered payload: the caller's data, not a server fault.
          return reply.code(422).send({ error: 'undecodable_payload', message: (err as Error).message });
        }
        return reply.type('application/json; charset=utf-8').send(Buffer.from(JSON.stringify({ payloads: payloads.map(toJson) })));
      },
    );
  route('decode');
  route('encode');
}
