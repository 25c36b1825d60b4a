/**
 * A TCP relay between a client and the gateway that a test can cut (every connection dies, like
 * Wi-Fi dropping) and take down and up again on the same port, while the gateway keeps running.
 */
import net from 'node:net';

export interface Proxy {
  readonly port: number;
  /** destroy every relayed connection (both sides) and refuse new ones until up() */
  down(): Promise<void>;
  /** accept again, on the same port */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number, host = '127.0.0.1'): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;

  const listen = async (): Promise<void> => {
    const s = net.createServer((client) => {
      const upstream = net.connect(targetPort, host);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    port = (s.address() as net.AddressInfo).port;
    server = s;
  };

  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    down,
    up: listen,
    stop: down,
  };
}
