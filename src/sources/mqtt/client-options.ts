/**
 * The mqtt.js options of our one broker client, TLS files read here: a file that cannot be read is
 * a configuration error naming its key (MqttConfigError), raised by start() before any I/O.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { MqttConfig } from '../../config/schema.js';
import { CONNECT_TIMEOUT_MS, MQTT_MAX_PACKET_BYTES, MQTT_PACKET_OVERHEAD_BYTES } from '../../bounds.js';

export class MqttConfigError extends Error {
  readonly code = 'SG_ERR_MQTT_CONFIG';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'MqttConfigError';
  }
}

/**
 * The options of a broker client (the MQTT source's, the fleet's): one set of timeouts, credentials
 * and TLS. MQTT 5 (unless `mqtt.protocolVersion: 4`), for its Maximum Packet Size: the broker must not send us a packet bigger than
 * `maxMessageBytes` plus a topic and properties, it drops it for us instead. mqtt.js holds a whole
 * packet before it hands it over, so without it one 200 MB publish on a subscribed topic (or
 * retained there, delivered again at every connect) would take the gateway past its MemoryMax.
 */
export function clientOptions(c: MqttConfig, clientId: string, maxMessageBytes = c.maxPayloadBytes): IClientOptions {
  const opts: IClientOptions = {
    clientId,
    // 4 (3.1.1, mqtt.protocolVersion) has no such property: the broker's own message_size_limit is all there is
    protocolVersion: c.protocolVersion,
    ...(c.protocolVersion === 5 ? { properties: { maximumPacketSize: maxPacketSize(maxMessageBytes) } } : {}),
    clean: true,
    keepalive: c.keepaliveSeconds,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: 0, // we schedule reconnects ourselves (backoff + jitter)
    resubscribe: false, // we subscribe on every CONNACK ourselves
    queueQoSZero: false,
    // mqtt-packet's default pre-builds a Buffer for each of the 65,536 uint16 values (6 MB of
    // heap, a tenth of the gateway at rest) to save a 2-byte allocation per packet id / length
    writeCache: false,
    manualConnect: true,
  };
  if (c.username !== undefined) opts.username = c.username;
  if (c.password !== undefined) opts.password = c.password;
  if (c.tls) {
    opts.rejectUnauthorized = c.tls.rejectUnauthorized;
    if (c.tls.ca) opts.ca = readTlsFile('mqtt.tls.ca', c.tls.ca);
    if (c.tls.cert) opts.cert = readTlsFile('mqtt.tls.cert', c.tls.cert);
    if (c.tls.key) opts.key = readTlsFile('mqtt.tls.key', c.tls.key);
  }
  return { ...opts, ...urlOptions(c.url) };
}

/**
 * The broker URL as mqtt.js's options. Given the URL as a string, mqtt.js parses it with
 * url.parse(), which Node 24 flags with a DeprecationWarning (DEP0169) in the journal at every
 * start; this is the WHATWG parser filling the same fields, with the same precedence: credentials
 * and a `clientId` query parameter in the URL win over the config's.
 */
export function urlOptions(url: string): IClientOptions {
  const u = new URL(url);
  const protocol = u.protocol.slice(0, -1) as NonNullable<IClientOptions['protocol']>;
  // an IPv6 literal without its brackets, as net.connect wants it
  const opts: IClientOptions = { protocol, host: u.hostname.replace(/^\[(.*)\]$/, '$1') };
  if (u.port !== '') opts.port = Number(u.port);
  if (protocol === 'ws' || protocol === 'wss') opts.path = u.pathname + u.search;
  if (u.username !== '') opts.username = decodeURIComponent(u.username);
  if (u.password !== '') opts.password = decodeURIComponent(u.password);
  const clientId = u.searchParams.get('clientId');
  if (clientId !== null) opts.clientId = clientId;
  return opts;
}

function readTlsFile(path: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MqttConfigError(path, `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The broker URL for logs: credentials in the URL (mqtt://user:pass@host) never reach a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparsable url]';
  }
}

/**
 * The Maximum Packet Size for messages of up to `maxMessageBytes`: a payload a little over (up to
 * the overhead) still reaches us, to be counted and logged; a bigger one never does.
 */
function maxPacketSize(maxMessageBytes: number): number {
  return Math.min(maxMessageBytes + MQTT_PACKET_OVERHEAD_BYTES, MQTT_MAX_PACKET_BYTES);
}
