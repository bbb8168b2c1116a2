// The Swish sandbox API on its own HTTPS listener with mutual TLS, as Swish is: the server asks for
// a client certificate and refuses the handshake without one signed by the sandbox CA. TLS 1.2, as
// Swish's endpoints speak it: a refused certificate is then a TLS alert during the handshake.
import Fastify, { type FastifyInstance } from 'fastify';
import { ensureSwishSandboxCerts, generateSwishCertificates, type SwishCertificateSet, type SwishSandboxCerts } from './certs';
import { swishApiPlugin } from './plugin';
import { SwishSandbox, type SwishSandboxOptions } from './sandbox';

export const SWISH_API_PREFIX = '/swish-cpcapi';

export interface SwishApiServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where the certificates are kept (generated once); without it they are generated in memory. */
  certDir?: string;
  /** Certificates to use instead (e.g. shared by several tests). */
  certs?: SwishCertificateSet | SwishSandboxCerts;
  logger?: boolean;
}

export interface SwishApiServer {
  app: FastifyInstance;
  /** e.g. https://127.0.0.1:4011 */
  url: string;
  /** What the Swish client calls its apiBase: `${url}/swish-cpcapi`. */
  apiBase: string;
  certs: SwishCertificateSet | SwishSandboxCerts;
  close(): Promise<void>;
}

/** Starts the HTTPS API of `sandbox`; it is closed with the sandbox (or by its own close()). */
export async function startSwishApiServer(sandbox: SwishSandbox, options: SwishApiServerOptions = {}): Promise<SwishApiServer> {
  const host = options.host ?? '127.0.0.1';
  const certs =
    options.certs ??
    (options.certDir
      ? await ensureSwishSandboxCerts(options.certDir, { payeeAlias: sandbox.payeeAlias })
      : generateSwishCertificates({ payeeAlias: sandbox.payeeAlias }));

  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    https: {
      key: certs.serverKey,
      cert: certs.serverCert,
      ca: certs.caCert,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    },
  });
  app.addHook('preClose', async () => {
    sandbox.releaseHeldRequests();
  });
  await app.register(swishApiPlugin, { prefix: SWISH_API_PREFIX, sandbox });
  app.get('/health', async () => ({ status: 'ok' }));

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const apiBase = `${url}${SWISH_API_PREFIX}`;

  let closed: Promise<void> | undefined;
  const server: SwishApiServer = {
    app,
    url,
    apiBase,
    certs,
    close: () => {
      closed ??= (async () => {
        sandbox.detach(server);
        if (sandbox.api?.url === url) sandbox.api = undefined;
        await app.close();
      })();
      return closed;
    },
  };
  sandbox.attach(server);
  const paths = 'paths' in certs ? (certs as SwishSandboxCerts).paths : undefined;
  sandbox.api = { url, apiBase, caPath: paths?.ca, clientCertPath: paths?.clientCert, clientKeyPath: paths?.clientKey };
  return server;
}

/** A stand-alone Swish sandbox (state and HTTPS API), e.g. for a test without the main sandbox app. */
export async function startSwishSandbox(
  options: SwishSandboxOptions & { api?: SwishApiServerOptions } = {},
): Promise<{ sandbox: SwishSandbox; server: SwishApiServer; url: string; apiBase: string; certs: SwishApiServer['certs']; close(): Promise<void> }> {
  const { api, ...sandboxOptions } = options;
  const sandbox = new SwishSandbox(sandboxOptions);
  const server = await startSwishApiServer(sandbox, api);
  return { sandbox, server, url: server.url, apiBase: server.apiBase, certs: server.certs, close: () => sandbox.close() };
}
