// A TCP proxy a test can hold: while paused, bytes in either direction wait in it, so a process that
// talks through it (an API process to Temporal) finds its calls hanging, as on a stalled network,
// without anything failing. Resuming lets the held bytes through in order.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface PausableProxy {
  /** host:port to give the process instead of the target's. */
  address: string;
  /** Connections made through it so far. */
  readonly connections: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startPausableProxy(target: string): Promise<PausableProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let paused = false;
  const pipes = new Set<{ flush(): void; destroy(): void }>();

  let connections = 0;
  const server: Server = createServer((client: Socket) => {
    connections += 1;
    const upstream = connect(port, host);
    const held: Array<{ to: Socket; chunk: Buffer }> = [];
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (paused) held.push({ to, chunk });
        else to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const pipe = {
      flush: () => {
        for (const { to, chunk } of held.splice(0)) to.write(chunk);
      },
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    pipes.add(pipe);
    const end = () => {
      pipes.delete(pipe);
      pipe.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy did not bind');
  return {
    address: `127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const pipe of pipes) pipe.flush();
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const pipe of pipes) pipe.destroy();
        server.close(() => resolveClose());
      }),
  };
}
