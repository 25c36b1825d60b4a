/**
 * The fleet's QoS 1 publishes on the wire that the broker has not acknowledged yet, oldest first.
 * A broker acknowledges them in the order it received them (MQTT 5 §4.6), so when mqtt.js cannot
 * read a PUBACK (Mosquitto answers a message over its message_size_limit with 0x95, a reason code
 * MQTT 5 does not define for a PUBACK), the oldest one here is the message it refused.
 */
import type { IPublishPacket } from 'mqtt';

export class InFlight {
  /** packet id → the packet as written, in write order; kept by reference: nothing is computed per publish */
  private readonly sent = new Map<number, IPublishPacket>();

  /** a QoS 1 PUBLISH was written (a first send or a replay after a reconnect) */
  written(packet: IPublishPacket & { messageId: number }): void {
    this.sent.delete(packet.messageId); // a replay goes to the back, in its new place on the wire
    this.sent.set(packet.messageId, packet);
  }

  acknowledged(messageId: number): void {
    this.sent.delete(messageId);
  }

  /** a new connection: what mqtt.js replays is written again, in order */
  reset(): void {
    this.sent.clear();
  }

  /** the oldest unacknowledged publish, if any */
  oldest(): IPublishPacket | undefined {
    for (const packet of this.sent.values()) return packet;
    return undefined;
  }
}
