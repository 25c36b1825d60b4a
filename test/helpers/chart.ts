import type { Page } from 'playwright-core';

type Hook = { __sg: { chartX(d: string, m: string): number[] } };

/**
 * Waits until the dashboard's chart of `device`/`metric` holds every x in `xs`. A history answer is
 * drawn at the next animation frame, which a loaded machine may delay: the caller then asserts on
 * what is shown, so a timeout here is not an error of its own (the assertion says what is missing).
 */
export async function untilDrawn(page: Page, xs: number[], device = 'mock1', metric = 'temp'): Promise<void> {
  await page
    .waitForFunction(
      ([want, d, m]) => {
        const shown = new Set((window as unknown as Hook).__sg.chartX(d, m));
        return want.every((x) => shown.has(x));
      },
      [xs, device, metric] as const,
      { timeout: 5_000 },
    )
    .catch(() => undefined);
}
