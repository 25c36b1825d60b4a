/**
 * A deliberately broken MQTT 5 (or 3.1.1) "broker" for the cases Mosquitto cannot be made to produce:
 * it accepts CONNECT and SUBSCRIBE but never acknowledges a PUBLISH (a stuck broker, a lost PUBACK),
 * and can refuse chosen subscriptions (Mosquitto's ACLs grant every SUBSCRIBE and filter later).
 * Bounded: every socket buffer is capped, and close() destroys every socket.
 */
import net from 'node:net';

export interface SilentBroker {
  readonly url: string;
  /** PUBLISH packets received so far */
  readonly publishes: number;
  /** CONNECT packets received so far */
  readonly connects: number;
  close(): Promise<void>;
}

const MAX_BUFFER = 64 * 1024;

export interface SilentBrokerOptions {
  /** after the first SUBACK, stop reading the socket (a broker that cannot keep up) */
  stopReading?: boolean;
  /** filters whose SUBSCRIBE is answered with 0x80 (failure), like an ACL that denies them */
  refuse?: readonly string[];
  /** a broker of MQTT 3.1.1 only: CONNECT of another protocol level → CONNACK 0x01 (3.1.1 §3.2.2.3), then closed */
  only311?: boolean;
  /** on the first connection, right after its first SUBACK, a packet mqtt-packet refuses (a PUBLISH with both QoS bits set) */
  malformedOnce?: boolean;
}

export async function startSilentBroker(opts: SilentBrokerOptions = {}): Promise<SilentBroker> {
  let publishes = 0;
  let connects = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    /** the protocol level of this socket's CONNECT: 5, or 4 (3.1.1) where the packets have no properties */
    let level = 5;
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_BUFFER) return void sock.destroy();
      for (;;) {
        // fixed header: type byte, remaining length as a varint (≤ 4 bytes)
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < 5 && i < buf.length; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || i >= 5) return;
        const total = i + 1 + len;
        if (buf.length < total) return;
        const type = buf[0]! >> 4;
        const body = buf.subarray(i + 1, total);
        buf = buf.subarray(total);
        if (type === 1) {
          // the protocol level follows the protocol name ("MQTT": 2 + 4 bytes)
          level = body[6]!;
          connects++;
          if (opts.only311 && level !== 4) return void sock.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
          // CONNACK success (MQTT 5: with an empty property list)
          sock.write(Buffer.from(level === 5 ? [0x20, 0x03, 0x00, 0x00, 0x00] : [0x20, 0x02, 0x00, 0x00]));
        } else if (type === 8) {
          // SUBSCRIBE (message id, MQTT 5: properties with a one-byte length as mqtt.js sends them,
          // then one filter: length, bytes, options) → SUBACK (MQTT 5: no properties), QoS 0 or 0x80
          const at = level === 5 ? 3 + body[2]! : 2;
          const filter = body.subarray(at + 2, at + 2 + body.readUInt16BE(at)).toString('utf8');
          const granted = opts.refuse?.includes(filter) ? 0x80 : 0x00;
          sock.write(Buffer.from(level === 5 ? [0x90, 0x04, body[0]!, body[1]!, 0x00, granted] : [0x90, 0x03, body[0]!, body[1]!, granted]));
          if (opts.malformedOnce && connects === 1) sock.write(Buffer.from([0x36, 0x00]));
          if (opts.stopReading) return void sock.pause();
        } else if (type === 12)
          sock.write(Buffer.from([0xd0, 0x00])); // PINGREQ → PINGRESP
        else if (type === 3) publishes++; // PUBLISH: never a PUBACK
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get publishes() {
      return publishes;
    },
    get connects() {
      return connects;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
