/** Event-driven waiting for tests: `waitFor` re-checks its condition whenever `wake()` is called. */
export class Waiter {
  private waiters = new Set<() => void>();

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** resolves when `cond()` holds; rejects after timeoutMs naming `what` and, if given, `context()` */
  waitFor(what: string, cond: () => boolean, timeoutMs = 5_000, context?: () => string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `; ${context()}` : ''}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}
