// The dataset grid at scale, in a real browser against a real server and store: 100k items (real
// files: hard links to a few PNGs) stay windowed (only the visible rows are in the DOM), keyset
// pages load as the user scrolls, and frames stay short. Heavier than the other flows (inserting
// 100k rows), so it runs with `npm run test:e2e`, not in the default `npm test`.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeImageFolder } from './fixtures.ts';
import { screenshot, startApp, type App } from './harness.ts';

let app: App;
const N = 100_000;
let datasetId = 0;

beforeAll(async () => {
  app = await startApp();
  const src = join(app.tmp, 'shapes');
  const big = join(app.tmp, 'big');
  mkdirSync(big);
  const { files } = await writeImageFolder(src);
  const store = app.server.backend.store;
  datasetId = store.datasets.create({ name: 'hundred-k', sourceKind: 'folder', rootPath: big }).id;
  const items = Array.from({ length: N }, (_, i) => {
    const path = `${String(i).padStart(6, '0')}.png`;
    linkSync(join(src, files[i % files.length]), join(big, path));
    return { path, contentHash: createHash('sha256').update(path).digest('hex'), bytes: 168, width: 48, height: 48, caption: `item ${i}` };
  });
  store.items.insertMany(datasetId, items);
});
afterAll(async () => { await app?.close(); });

test('the item grid stays windowed at 100k items and pages in as it scrolls', async () => {
  const { page } = app;
  await page.goto(app.url);
  await page.evaluate((id) => { location.hash = `#datasets/${id}`; }, datasetId);
  const grid = page.getByRole('grid', { name: 'Dataset items' });
  await page.locator('.item-cell').first().waitFor();
  const rendered = () => page.locator('.vgrid-cell').count();
  expect(await rendered()).toBeLessThan(200);
  const cols = Number(await grid.getAttribute('aria-colcount'));
  expect(Number(await grid.getAttribute('aria-rowcount'))).toBe(Math.ceil(N / cols));

  // scroll down screen by screen: frames stay short and later keyset pages arrive
  const frames = await grid.evaluate(async (el) => {
    const gaps: number[] = [];
    let last = performance.now();
    for (let k = 0; k < 80; k++) {
      el.scrollTop += 500;
      await new Promise(requestAnimationFrame);
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    return gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  });
  const top = await grid.evaluate((el) => el.scrollTop);
  const rowH = await page.locator('.vgrid-cell').first().evaluate((el) => el.getBoundingClientRect().height + 10);
  const beyond = Math.floor(top / rowH) * cols; // the first item in view
  // then a real wheel turn, as a person would end a fling
  await page.mouse.move(800, 500);
  await page.mouse.wheel(0, 200);
  await page.waitForTimeout(500);
  console.log(`scrolled to ${top}px, rows of ${rowH}px: item ${beyond} in view`);
  await expect.poll(async () => {
    const caps = await page.locator('.item-cell .cap').allTextContents();
    return Math.max(...caps.map((c) => Number(/item (\d+)/.exec(c)?.[1] ?? -1)));
  }, { timeout: 30_000 }).toBeGreaterThanOrEqual(beyond);
  expect(await rendered()).toBeLessThan(200);
  // every cell shows the item of its own place: no page loaded twice or skipped on the way down (a
  // stale effect once requested the same page twice while the user scrolled, shifting later items)
  const shown = await page.locator('.vgrid-cell').evaluateAll((els) => els.map((e) => ({
    at: (Number(e.getAttribute('aria-rowindex')) - 1) * Number(e.closest('[role=grid]')!.getAttribute('aria-colcount')) + Number(e.getAttribute('aria-colindex')) - 1,
    cap: e.querySelector('.item-cell .cap')?.textContent ?? null,
  })));
  const captioned = shown.filter((c) => c.cap !== null);
  expect(captioned.length).toBeGreaterThan(0);
  for (const c of captioned) expect(c.cap).toBe(`item ${c.at}`);
  console.log(`100k grid: median frame while scrolling ${frames.toFixed(1)} ms, ${await rendered()} cells in the DOM`);
  // rendering all 100k cells would take seconds per frame; windowed it takes milliseconds
  expect(frames).toBeLessThan(1000);
  await screenshot(app, 'datasets-100k');
});
