// The one public address providers reach, in front of every API process's public door: each
// request goes to the next door in turn, and to the one after it when a door refuses the connection
// (its API process is down), as a load balancer does. A request a door accepted and then dropped is
// answered 502, and the provider retries it, as providers do.
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';

export interface Balancer {
  url: string;
  close(): Promise<void>;
}

export async function startBalancer(options: { port: number; host?: string; backends: Array<{ host: string; port: number }> }): Promise<Balancer> {
  const host = options.host ?? '127.0.0.1';
  let next = 0;
  const server: Server = createServer(async (incoming, outgoing) => {
    // Buffered once, so a refused door can be skipped without losing the body.
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const attempt = (attemptsLeft: number) => {
      const backend = options.backends[next++ % options.backends.length]!;
      const upstream = forward({ host: backend.host, port: backend.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer: IncomingMessage) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && attemptsLeft > 1) return attempt(attemptsLeft - 1);
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' }).end(`no public door answered: ${err.code ?? err.message}`);
        else outgoing.destroy();
      });
      upstream.end(body);
    };
    attempt(options.backends.length);
  });
  // Sockets to the balancer are not kept alive: every request is balanced on its own.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolveListen());
  });
  return {
    url: `http://${host}:${options.port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
