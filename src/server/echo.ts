/**
 * The diagnostics echo route (`server.echo: true`): every text message comes back as text and
 * every binary message as binary, as Autobahn's echo server does, so conformance suites and
 * `websocat` can exercise the server without the hub.
 */
import type { Connection } from './connection.js';
import type { EndpointOptions } from './ws-server.js';

export function echoEndpoint(path = '/echo'): EndpointOptions<void> {
  return {
    path,
    protocols: [],
    onConnection(conn: Connection) {
      conn.on('message', echo);
    },
  };
}

// `this` is the connection (EventEmitter calls listeners with it): one function for all.
function echo(this: Connection, data: Buffer, binary: boolean): void {
  this.send(data, binary);
}
