/**
 * Chromium for the viewer's tests and benchmark: Debian's chromium through playwright-core, with
 * the flags of test/services.ts; and the probes the tests share (non-background canvas pixels,
 * time to the first visible plot).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../services.js';

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
}

/**
 * Browser-side source (a string: this file is compiled without the DOM library) counting the
 * pixels of the canvases matching a selector that are neither transparent nor white.
 */
const COUNT_PAINTED = `(selector) => {
  let painted = 0;
  for (const canvas of document.querySelectorAll(selector)) {
    const ctx = canvas.getContext('2d');
    if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      const white = data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245;
      if (data[i + 3] > 0 && !white) painted++;
    }
  }
  return painted;
}`;

export const PLOT_CANVASES = '[data-plot] canvas, canvas[data-plot]';
export const TRACE_CANVAS = '[data-plot="traces"] canvas';

/** Painted (non-background) pixels of the page's plot canvases. */
export async function paintedPixels(page: Page, selector = PLOT_CANVASES): Promise<number> {
  return page.evaluate(`(${COUNT_PAINTED})(${JSON.stringify(selector)})`) as Promise<number>;
}

/**
 * Navigate to `url` and wait until the traces canvas shows more than `minPixels` painted pixels
 * (the axes and labels alone paint fewer): milliseconds from the start of navigation to the first
 * animation frame where that holds.
 */
export async function timeToFirstPlot(page: Page, url: string, minPixels: number): Promise<number> {
  const started = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  // Polled through evaluate (the page's CSP forbids the eval behind waitForFunction).
  while (performance.now() - started < 30_000) {
    const painted = await paintedPixels(page, TRACE_CANVAS).catch(() => 0);
    if (painted > minPixels) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no plot with more than ${minPixels} painted pixels within 30 s of opening ${url}`);
}
