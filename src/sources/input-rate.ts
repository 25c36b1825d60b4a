/**
 * One device's input budget (`devices[].inputRate`): a serial line or MQTT payload beyond it is
 * dropped before it is parsed, so a device flooding the gateway (or anyone allowed to publish on
 * its topic) costs the others nothing: no parse, no reading, no history, no fan-out, no memory.
 * An input larger than the burst still passes when the bucket is full, then the device owes it
 * (a 64 KB payload under a smaller burst is not refused forever).
 *
 * Drops are counted per configured device (`serialgate_input_dropped_total`) and logged at most
 * once per 10 s with the number left out; a reading that passes needs no seq of its own, so a
 * drop is no `gap` for dashboards: nothing was numbered.
 */
import type { InputRateConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { LogRateLimiter } from '../log-rate.js';
import { metrics } from '../metrics.js';
import { TokenBucket, type Clock } from '../token-bucket.js';
import { MIN_INPUT_CHARGE_BYTES } from '../bounds.js';

export class InputRate {
  private readonly bucket: TokenBucket;
  private readonly dropLog: LogRateLimiter;

  constructor(
    /** the `device` label of its drops: a device id, or `<gateway>/*` for a remote gateway's subtree */
    private readonly device: string,
    private readonly limit: InputRateConfig,
    private readonly log: Logger,
    /** the setting that sets the budget, for the log line */
    private readonly setting = 'devices[].inputRate',
    now?: Clock,
  ) {
    this.bucket = new TokenBucket(limit.bytesPerSecond, limit.burstBytes, now);
    this.dropLog = new LogRateLimiter(10_000, now);
  }

  /** A cost found after admit() (what parsing the input showed it will cost): later input waits for the budget to refill. */
  owe(bytes: number): void {
    this.bucket.charge(bytes);
  }

  /** Does an input of `bytes` fit the budget? When it does not, it is counted and logged here and must be dropped. */
  admit(bytes: number): boolean {
    if (this.bucket.take()) {
      // a reading costs about as much for a 1-byte line as for a 64-byte one: charged by size
      // alone, a device sending "x\n" passed 128,000 readings/s under the default budget
      this.bucket.charge(Math.max(bytes, MIN_INPUT_CHARGE_BYTES) - 1);
      return true;
    }
    metrics.inputDropped.inc({ device: this.device });
    this.dropLog.log(
      this.log,
      'warn',
      this.device,
      { code: 'SG_ERR_INPUT_RATE', device: this.device, bytesPerSecond: this.limit.bytesPerSecond, burstBytes: this.limit.burstBytes },
      `input over ${this.setting}: dropped unparsed`,
    );
    return false;
  }
}
