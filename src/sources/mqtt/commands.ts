/**
 * Command publishing: a checked command (the router is the one validation) goes out on the device's
 * command topic and is answered once, by the broker taking it or by the one deadline
 * (mqtt.commandTimeoutMs), which is owned here.
 *
 * An error ack is final: a command answered `timeout`, `device_unavailable` or `shutting_down` is
 * never delivered afterwards. QoS 2 makes that hold. The broker takes the message (PUBLISH → PUBREC)
 * but delivers it only when we release it (PUBREL): mqtt.js sends the PUBREL right after the PUBREC
 * event, and only for a packet it still tracks. A command that fails first (timeout, connection
 * loss, stop) is removed from mqtt.js, so it is never released; the clean session that ends with
 * the connection discards what the broker held. With QoS 1 the PUBLISH itself is the delivery: one
 * written to a hung broker is delivered whenever it reads its socket.
 */
import type { MqttClient } from 'mqtt';
import { jsonText } from '../../codecs/json-text.js';
import { CommandError, type DeviceCommand } from '../../domain.js';
import type { MqttConnection } from './connection.js';

interface Pending {
  device: string;
  /** what it was published on: mqtt.js must forget it there if it fails first */
  client: MqttClient;
  /** the PUBLISH packet id, once mqtt.js allocated it */
  messageId: number | undefined;
  /** the payload's size in bytes */
  bytes: number;
  resolve(): void;
  reject(err: CommandError): void;
  timer: NodeJS.Timeout;
}

export class CommandPublisher {
  /** in publish order, which is the order the broker answers in (MQTT 5 §4.6) */
  private readonly pending = new Set<Pending>();
  private closed = false;
  /** the smallest command the broker refused as too large: none this size or bigger is published again */
  private refusedBytes = Infinity;

  constructor(
    private readonly connection: Pick<MqttConnection, 'live' | 'reason' | 'drop' | 'maxPacketBytes'>,
    private readonly timeoutMs: number,
  ) {}

  /** Publish `cmd` for `device` to `topic` (its mqtt.commandTopic). */
  send(device: string, topic: string | undefined, cmd: DeviceCommand): Promise<{ reply?: string }> {
    if (this.closed) return Promise.reject(new CommandError('shutting_down', 'the gateway is shutting down', device));
    if (topic === undefined) return Promise.reject(new CommandError('invalid', `device "${device}" has no mqtt.commandTopic`, device));
    // the router checked the payload; a caller that skipped it leaves nothing to publish
    const body = cmd.payload !== undefined ? cmd.payload : cmd.line;
    if (body === undefined) return Promise.reject(new CommandError('invalid', 'an MQTT command needs a payload', device));
    // a fault guard, not a check: a payload JSON cannot carry (a cycle, a BigInt) must not throw here
    const text = typeof body === 'string' ? body : jsonText(body);
    if (text === undefined) return Promise.reject(new CommandError('invalid', 'the command payload cannot be sent as JSON', device));
    const bytes = Buffer.byteLength(text);
    if (bytes >= this.refusedBytes) {
      // each one would cost every MQTT device a reconnect (unreadablePubrec): refused here instead
      const message = `the broker refused a command of ${this.refusedBytes} bytes as too large (its message_size_limit): one of ${bytes} bytes is not sent`;
      return Promise.reject(new CommandError('invalid', message, device));
    }
    const client = this.connection.live();
    if (!client) return Promise.reject(new CommandError('device_unavailable', `MQTT broker is down: ${this.connection.reason}`, device));
    // MQTT 5: a broker that announced its Maximum Packet Size disconnects a client that sends more
    const max = this.connection.maxPacketBytes;
    const packet = publishPacketBytes(topic, bytes);
    if (max !== undefined && packet > max) {
      const message = `the broker takes packets of at most ${max} bytes (its Maximum Packet Size): this command's would be ${packet}`;
      return Promise.reject(new CommandError('invalid', message, device));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {
        device,
        client,
        messageId: undefined,
        bytes,
        resolve: () => resolve({}),
        reject,
        timer: setTimeout(() => this.timedOut(p), this.timeoutMs),
      };
      this.pending.add(p);
      client.publish(topic, text, { qos: 2 }, (err) => {
        // PUBCOMP (the command resolved at PUBREC) or an error before the PUBREC
        if (err && this.pending.has(p)) this.fail(p, new CommandError('device_unavailable', `publish failed: ${err.message}`, device));
      });
      // the id is allocated synchronously: we publish only while connected, after mqtt.js replayed its store
      if (this.pending.has(p)) p.messageId = client.getLastMessageId();
    });
  }

  /** The broker holds a command (PUBREC); mqtt.js releases it (PUBREL) right after this: delivered. */
  pubrec(messageId: number | undefined): void {
    for (const p of this.pending) {
      if (p.messageId !== messageId) continue;
      this.pending.delete(p);
      clearTimeout(p.timer);
      p.resolve();
      return;
    }
  }

  /**
   * The broker answered a command with a PUBREC whose reason code MQTT 5 does not define for one,
   * which mqtt.js cannot read (the connection ends right after). Mosquitto does so for a message
   * over its `message_size_limit` (0x95, "packet too large"). PUBRECs come in publish order, so it
   * answered the oldest pending command.
   */
  unreadablePubrec(): void {
    const [p] = this.pending;
    if (!p) return;
    this.refusedBytes = Math.min(this.refusedBytes, p.bytes);
    const message = `the broker refused the command (${p.bytes} bytes) with a reason code MQTT 5 does not define for it: Mosquitto's answer to a message over its message_size_limit`;
    this.fail(p, new CommandError('device_unavailable', message, p.device));
  }

  /** The connection is gone: every command it held fails, and none is ever released. */
  failAll(reason: string): void {
    this.rejectAll('device_unavailable', `${reason} before the broker acknowledged the command`);
  }

  /** Stop: pending commands fail (shutting_down, or device_unavailable with why a reload stops the client), new ones are refused. */
  close(reload?: string): void {
    this.closed = true;
    if (reload === undefined) this.rejectAll('shutting_down', 'the gateway is shutting down');
    else this.rejectAll('device_unavailable', `${reload} before the broker acknowledged the command`);
  }

  private timedOut(p: Pending): void {
    const ms = this.timeoutMs;
    this.fail(p, new CommandError('timeout', `the broker did not acknowledge the command within ${ms} ms`, p.device));
    // The broker may hold the unreleased message under this packet id, and a later PUBLISH that
    // reuses the id could release it: end the connection (and with it the clean session). A broker
    // that cannot answer a PUBLISH within commandTimeoutMs is not healthy anyway: down, reconnect.
    this.connection.drop(p.client, `the broker did not acknowledge a command within ${ms} ms`);
  }

  /** Reject one command and make mqtt.js forget it, so that it never sends its PUBREL. */
  private fail(p: Pending, err: CommandError): void {
    this.pending.delete(p);
    clearTimeout(p.timer);
    if (p.messageId !== undefined) p.client.removeOutgoingMessage(p.messageId);
    p.reject(err);
  }

  private rejectAll(code: 'device_unavailable' | 'shutting_down', message: string): void {
    for (const p of this.pending) this.fail(p, new CommandError(code, message, p.device));
  }
}

/** The size of a QoS 2 MQTT 5 PUBLISH without properties: fixed header, topic, packet id, property length, payload. */
function publishPacketBytes(topic: string, payloadBytes: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + 1 + payloadBytes;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}
