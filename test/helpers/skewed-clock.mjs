/**
 * A preload (`node --import …/skewed-clock.mjs`) that moves this process's wall clock by
 * SG_TEST_CLOCK_SKEW_MS (negative: behind), as a Raspberry Pi without a real-time clock and without
 * NTP has it: Date.now(), new Date(), Date() and the HTTP Date header (node:http writes it from its
 * own copy of Date) see it; the monotonic clocks (performance.now(), timers) do not.
 */
import http from 'node:http';

const skew = Number(process.env.SG_TEST_CLOCK_SKEW_MS || 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + skew);
    else super(...args);
  }

  static now() {
    return realNow() + skew;
  }
}

// `Date()` called as a function gives the current time as text
globalThis.Date = new Proxy(SkewedDate, { apply: () => new SkewedDate().toString() });

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (...args) {
  if (!this.hasHeader('date')) this.setHeader('Date', new SkewedDate().toUTCString());
  return writeHead.apply(this, args);
};
