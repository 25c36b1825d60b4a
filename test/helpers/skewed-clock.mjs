/**
 * Preloaded into a daemon (`node --import`): its clock runs SG_TEST_CLOCK_SKEW_MS off the real one,
 * as a wrong system clock would make it (a Raspberry Pi without a real-time clock and without NTP):
 * Date.now(), new Date(), and the HTTP Date header, which node:http writes from its own copy of Date.
 */
import http from 'node:http';

const skew = Number(process.env.SG_TEST_CLOCK_SKEW_MS || 0);
const RealDate = Date;
const realNow = RealDate.now;
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + skew);
    else super(...args);
  }
  static now() {
    return realNow() + skew;
  }
}
globalThis.Date = SkewedDate;

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (...args) {
  if (!this.hasHeader('date')) this.setHeader('Date', new SkewedDate().toUTCString());
  return writeHead.apply(this, args);
};
