/**
 * The gateway's clock, as the page estimates it. A reading's `ts` is the gateway's receive time and
 * a history range is asked in that clock, but the browser's may be minutes or hours off it: a
 * Raspberry Pi without a real-time clock on a LAN without NTP boots at its last shutdown time. With
 * the browser's clock every tile of such a gateway was SILENT, aged "2 h", and history requests
 * asked for a range the gateway had no readings in. So ages, the silent flag and history ranges use
 * `now()`: the browser's clock plus an offset, estimated at every session from the gateway's HTTP
 * `Date` header (whole seconds) and raised by every reading, whose `ts` the gateway's clock had
 * already passed when it arrived (so a gateway clock set forward by NTP is followed at once; one set
 * back is followed from the next session).
 */
export class GatewayClock {
  /** gateway minus browser, in whole ms (a history range is integers) */
  private offset = 0;

  constructor(private readonly local: () => number = () => Date.now()) {}

  now(): number {
    return this.local() + this.offset;
  }

  /**
   * A response's `Date` header (ms, whole seconds) for a request sent at `sentAt` and answered at
   * `receivedAt` (local ms). The gateway wrote it at a time in [dateMs, dateMs + 1 s) between the
   * two, which bounds the offset; an estimate within the bounds stays (the browser's own clock,
   * when the two agree to the second: a gateway on the same machine keeps the exact one). Else the
   * upper bound: never behind the gateway, so a history range always reaches its newest reading,
   * and an age reads at most a second and a round trip long.
   */
  fromDate(dateMs: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(dateMs)) return;
    const low = dateMs - receivedAt;
    const high = dateMs + 1_000 - sentAt;
    if (this.offset < low || this.offset > high) this.offset = Math.round(high);
  }

  /** a reading that arrived just now: the gateway's clock was at least at its ts */
  reading(ts: number): void {
    const atLeast = ts - this.local();
    if (atLeast > this.offset) this.offset = atLeast;
  }

  /** Asks the gateway for its `Date` (a HEAD of the page itself: no token needed, nothing cached); keeps the estimate when that fails. */
  async sync(url: string): Promise<void> {
    const sentAt = this.local();
    try {
      const res = await fetch(url, { method: 'HEAD', cache: 'no-store' });
      const date = res.headers.get('date');
      if (date !== null) this.fromDate(Date.parse(date), sentAt, this.local());
    } catch {
      // the next session tries again; meanwhile the readings keep the estimate up
    }
  }
}
