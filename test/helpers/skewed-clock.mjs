/**
 * A preload (`node --import …/skewed-clock.mjs`) that moves this process's wall clock by
 * SG_TEST_CLOCK_SKEW_MS (negative: behind): Date.now(), new Date() and Date() see it, the
 * monotonic clocks (performance.now(), timers) do not. A gateway whose clock is off, as a Pi
 * without an RTC is until NTP answers.
 */
const skew = Number(process.env.SG_TEST_CLOCK_SKEW_MS ?? 0);
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
