/**
 * Every Prometheus metric the gateway exposes, defined once. Modules import the ones they count;
 * /metrics serialises the registry. Every label value comes from a closed set: device ids from
 * the config, statuses and error codes from our code, close codes through closeCodeLabel(), so no
 * peer can mint new series (each costs memory for the life of the process and every scrape).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
// process_resident_memory_bytes, nodejs_eventloop_lag_seconds and friends
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
  new Counter<L>({ name, help, labelNames, registers: [registry] });

/**
 * Sends are counted on the hot path of every write (tens of thousands a second), where a
 * prom-client inc() costs a label hash and a map lookup: writers add to these plain numbers and
 * the counters take them over whenever they are read (scrape, or get()).
 */
export const sendTally = { messages: 0, bytes: 0 };

const tallied = (name: string, help: string, key: keyof typeof sendTally) =>
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      if (sendTally[key] === 0) return;
      this.inc(sendTally[key]);
      sendTally[key] = 0;
    },
  });

/**
 * Close codes registered by RFC 6455 §7.4.1 and the IANA registry below 3000 (1004 reserved, never
 * sent). A peer may send any of 3000-4999, and each would be its own series: those, and anything
 * unregistered, count as `other`.
 */
const KNOWN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015]);

/** The `code` label of serialgate_ws_closes_total for a close code: the number if registered, else `other`. */
export function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other';
}

export const metrics = {
  connections: new Gauge({ name: 'serialgate_ws_connections', help: 'Open WebSocket connections', registers: [registry] }),
  connectionsTotal: counter('serialgate_ws_connections_total', 'WebSocket connections accepted'),
  handshakeRejected: counter('serialgate_ws_handshake_rejected_total', 'Upgrade requests refused, by HTTP status', ['status']),
  connectionsRefused: counter(
    'serialgate_connections_refused_total',
    'TCP connections closed at accept: their address already held server.limits.maxConnectionsPerAddress',
  ),
  httpClientErrors: counter(
    'serialgate_http_client_errors_total',
    'Plain HTTP requests refused before routing (garbage, slowloris, too many headers, Host not allowed), by status',
    ['status'],
  ),
  closes: counter('serialgate_ws_closes_total', 'Connections closed, by close code (registered codes, else "other")', ['code']),
  messagesSent: tallied('serialgate_ws_messages_sent_total', 'Messages sent to dashboards', 'messages'),
  bytesSent: tallied('serialgate_ws_bytes_sent_total', 'Bytes written to dashboard sockets', 'bytes'),
  messagesReceived: counter('serialgate_ws_messages_received_total', 'Messages received from dashboards'),
  drops: counter('serialgate_readings_dropped_total', 'Readings not delivered to a slow consumer (coalesced)'),
  gaps: counter('serialgate_gaps_total', 'gap messages sent'),
  readings: counter('serialgate_readings_total', 'Readings received, by device', ['device']),
  parseErrors: counter('serialgate_parse_errors_total', 'Lines or payloads that failed to parse, by device', ['device']),
  inputDropped: counter(
    'serialgate_input_dropped_total',
    'Serial lines and MQTT payloads dropped unparsed: the device sent more than devices[].inputRate (device "<gateway>/*": a remote gateway more than mqtt.federation.inputRate)',
    ['device'],
  ),
  overlongLines: counter('serialgate_overlong_lines_total', 'Serial lines discarded for exceeding maxLineBytes', ['device']),
  commands: counter('serialgate_commands_total', 'Commands by device and result (ok or error code)', ['device', 'result']),
  reconnects: counter('serialgate_reconnects_total', 'Source reconnect attempts, by device or "mqtt"', ['source']),
  mqttPublishDropped: counter(
    'serialgate_mqtt_publish_dropped_total',
    'MQTT publishes dropped: offline queue full (oldest first) or broker not reading',
  ),
  fleetQueued: new Gauge({
    name: 'serialgate_fleet_queue',
    help: 'Readings held for the fleet broker while it is away',
    labelNames: ['kind'],
    registers: [registry],
  }),
  fleetQueueLimit: new Gauge({
    name: 'serialgate_fleet_queue_limit',
    help: 'Bounds of the fleet queue (mqtt.federation.queue)',
    labelNames: ['kind'],
    registers: [registry],
  }),
  deviceUp: new Gauge({ name: 'serialgate_device_up', help: '1 when the device is up', labelNames: ['device'], registers: [registry] }),
  clientErrors: counter('serialgate_client_errors_total', 'Client messages answered with an error, by code', ['code']),
  /**
   * Exceptions caught at a fault boundary instead of reaching the process: `boundary` is
   * "connection" (that connection was closed with 1011) or "source" (that device went down and retries).
   */
  faults: counter('serialgate_faults_total', 'Exceptions caught at a fault boundary (connection closed 1011, or device marked down)', ['boundary']),
};
