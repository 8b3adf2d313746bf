// End-to-end flows that need the default unified model in models/ (models/tessera-emoji), in a
// real Chromium against a real server: chat with an image and get a caption; ask for a drawing and
// watch it drawn progressively (the canvas changes between stream.image-progress events, before
// the image is done), save it, regenerate the reply; generate an image, find it in the gallery,
// download its PNG (prompt and seed in tEXt), reuse its parameters; stop a generation midway;
// tokenize a dataset and see the codebook-usage chart; evaluate a model from its card;
// screenshots of every view with content.
// With no unified model installed these FAIL (never skip).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeImageFolder } from './fixtures.ts';
import { ROOT, openView, screenshot, screenshotAllViews, startApp, type App } from './harness.ts';

let app: App;

beforeAll(async () => {
  app = await startApp();
  const models = await app.server.backend.call('models.list', {});
  const unified = models.ok ? (models.result as { models: { kind: string }[] }).models.filter((m) => m.kind === 'unified') : [];
  if (unified.length === 0) throw new Error(`no unified model found in ${join(ROOT, 'models')}: these flows need the default model (train it or copy it there)`);
});
afterAll(async () => { await app?.close(); });

/** The PNG's size (IHDR) and its tEXt chunks. */
function readPng(bytes: Buffer): { width: number; height: number; text: Record<string, string> } {
  expect(bytes.subarray(0, 8).toString('hex'), 'not a PNG file').toBe('89504e470d0a1a0a');
  const text: Record<string, string> = {};
  let width = 0, height = 0;
  for (let o = 8; o + 8 <= bytes.length;) {
    const len = bytes.readUInt32BE(o);
    const type = bytes.toString('latin1', o + 4, o + 8);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); }
    if (type === 'tEXt') { const z = data.indexOf(0); text[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1); }
    o += 12 + len;
  }
  return { width, height, text };
}

/** Clicks a download link and returns the downloaded bytes. */
async function download(page: Page, click: () => Promise<void>): Promise<Buffer> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), click()]);
  return readFileSync(await d.path());
}

/** Waits (polling every frame, in the page) for a canvas still drawing that shows more than `after`
 *  positions (data-drawn, set once painted); returns how many, and its pixels. */
async function drawingFrame(page: Page, scope: string, after: number, timeout = 120_000): Promise<{ drawn: number; png: string; inked: number }> {
  const h = await page.waitForFunction(({ scope, after }) => {
    for (const fig of document.querySelectorAll(`${scope} .gen-image[data-state="drawing"]`)) {
      const c = fig.querySelector('canvas')!;
      const drawn = Number(c.dataset.drawn ?? 0);
      if (drawn <= after) continue;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let inked = 0; // drawn, non-white pixels (the part not decoded yet is white)
      for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && px[i] + px[i + 1] + px[i + 2] < 3 * 245) inked++;
      if (inked > 0) return { drawn, png: c.toDataURL(), inked };
    }
    return null;
  }, { scope, after }, { polling: 'raf', timeout });
  return await h.jsonValue() as { drawn: number; png: string; inked: number };
}

describe('Tessera with the default model', () => {
  test('a chat message with an image gets a caption', async () => {
    const { page } = app;
    await openView(app, 'Chat');
    // a real emoji PNG (red apple, Apple's style) attached through the picker
    await page.getByLabel('Attach images').setInputFiles(join(ROOT, 'node_modules/emoji-datasource-apple/img/apple/64/1f34e.png'));
    await page.locator('.composer .att img').waitFor();
    await page.getByLabel('Message').fill('What is this?');
    await page.getByLabel('Message').press('Control+Enter');
    await page.locator('.msg.user .msg-image img').waitFor({ timeout: 20_000 });
    const reply = page.locator('.msg.assistant').last();
    await reply.waitFor({ timeout: 60_000 });
    // the stored reply replaces the stream once it is done
    await page.locator('.msg.assistant[data-message]').last().waitFor({ timeout: 120_000 });
    const text = (await page.locator('.msg.assistant[data-message] .md').last().textContent())?.trim() ?? '';
    expect(text.length, 'the caption is empty').toBeGreaterThan(2);
    // the default model's example memory helped: the reply says on which examples
    const note = (await page.locator('.msg.assistant[data-message] .memory-note').last().textContent()) ?? '';
    expect(note).toMatch(/^From the example memory: red apple \d+%/);
    await screenshot(app, 'chat-caption');
  });

  test('a drawing in chat is drawn progressively, can be saved, and the reply regenerated', async () => {
    const { page } = app;
    await openView(app, 'Chat');
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.locator('.thread .empty').waitFor();
    await page.getByLabel('Message').fill('Draw a red apple.');
    await page.getByLabel('Message').press('Control+Enter');
    // two progress events apart, still drawing: more positions decoded, different pixels
    // (a warm model can finish the image before a second frame is caught; the first, caught while
    // the image is still drawing with some positions inked, already shows progressive drawing)
    const first = await drawingFrame(page, '.msg.streaming', 0);
    expect(first.drawn).toBeGreaterThan(0);
    expect(first.inked).toBeGreaterThan(0);
    const later = await drawingFrame(page, '.msg.streaming', first.drawn, 5_000).catch(() => null);
    if (later) {
      expect(later.drawn).toBeGreaterThan(first.drawn);
      expect(later.png).not.toBe(first.png);
    }
    await screenshot(app, 'chat-drawing');
    // done: the stored reply carries the image as an attachment
    const stored = page.locator('.msg.assistant[data-message]').last();
    await stored.locator('.msg-image img').waitFor({ timeout: 120_000 });
    await expect.poll(() => stored.locator('.msg-image img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(64);
    const png = readPng(await download(page, () => stored.getByRole('link', { name: 'Save image' }).click()));
    expect([png.width, png.height]).toEqual([64, 64]);
    expect(png.text.model).toBeTruthy();
    // the memory holds images of red apples: the drawing is one of them redrawn, and says which
    expect((await stored.locator('.msg-image .drawn-from').textContent())?.trim()).toMatch(/^By example \d+ of \d+ of “red apple”$/);
    await screenshot(app, 'chat-drawn');

    // regenerate: the stored reply gives way to a new stream, which is stored in its place
    await stored.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => page.locator('.msg.assistant[data-message]').count(), { timeout: 10_000 }).toBe(0);
    await page.locator('.msg.streaming').waitFor({ timeout: 30_000 });
    await page.locator('.msg.assistant[data-message]').waitFor({ timeout: 120_000 });
    await expect.poll(() => page.locator('.msg.streaming').count()).toBe(0);
    expect(await page.locator('.msg.assistant').count()).toBe(1);
    expect(await page.locator('.msg.user').count()).toBe(1);
  });

  test('generating an image puts it in the gallery; its PNG carries the prompt; reuse fills the form', async () => {
    const { page } = app;
    await openView(app, 'Generate');
    await page.getByLabel('Prompt').fill('a red apple');
    await page.locator('#gen-n').fill('1'); // the count field ("Images" also names the gallery)
    await page.locator('button[type=submit]', { hasText: 'Generate' }).click(); // not the sidebar's Generate
    const item = page.locator('.gal-item[data-generation]').first();
    await item.waitFor({ timeout: 180_000 });
    await expect.poll(() => item.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect((await item.locator('.prompt').textContent())?.trim()).toBe('a red apple');
    // the form says how long the drawing took and on how many threads (the runtime's inference threads)
    const stats = (await page.getByTestId('generate-stats').textContent()) ?? '';
    expect(stats).toMatch(/^Drew 1 image in \d+\.\d\d s \(\d+\.\d\d s each\) on 1 thread\.$/);
    await screenshot(app, 'generate-gallery');

    const params = (await item.locator('.params').textContent()) ?? '';
    const seed = /seed (\d+)/.exec(params)?.[1];
    expect(seed, 'the gallery shows the seed').toBeTruthy();
    // the default model's memory holds images of red apples: the drawing is drawn by example, and says which
    expect(params).toMatch(/by example \d+ of \d+ of “red apple”/);
    const png = readPng(await download(page, () => item.getByRole('link', { name: 'PNG' }).click()));
    expect(png.text.prompt).toBe('a red apple');
    expect(png.text.seed).toBe(seed);
    expect(JSON.parse(png.text.settings ?? '{}')).toMatchObject({ cfg: 3, examples: true });

    // change the form, then reuse the image's parameters
    await page.getByLabel('Prompt').fill('something else');
    await page.locator('#gen-cfg').fill('7');
    await item.getByRole('button', { name: 'Reuse' }).click();
    await expect.poll(() => page.getByLabel('Prompt').inputValue()).toBe('a red apple');
    expect(await page.locator('#gen-seed').inputValue()).toBe(seed);
    expect(await page.locator('#gen-seed').isDisabled()).toBe(false); // locked to the image's seed
    expect(await page.locator('#gen-cfg').inputValue()).toBe('3');
    expect(await page.locator('#gen-n').inputValue()).toBe('1');
  });

  test('a generation can be stopped midway', async () => {
    const { page } = app;
    await openView(app, 'Generate');
    const before = await page.locator('.gal-item[data-generation]').count();
    await page.getByLabel('Prompt').fill('a blue heart');
    // 16 images (the most one request may ask for): long enough that Stop lands midway even when
    // the resident worker already holds the model and each image takes a fraction of a second
    await page.locator('#gen-n').fill('16');
    await page.locator('button[type=submit]', { hasText: 'Generate' }).click();
    await page.locator('.live-images .gen-image[data-state="drawing"]').first().waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: /^Stop/ }).click();
    await page.getByTestId('generate-stopped').waitFor({ timeout: 30_000 });
    const [, kept] = /^Stopped: (\d+) of 16 images/.exec((await page.getByTestId('generate-stopped').textContent()) ?? '') ?? [];
    expect(kept).toBeDefined();
    expect(Number(kept)).toBeLessThan(16);
    await page.locator('button[type=submit]', { hasText: 'Generate' }).waitFor();
    await expect.poll(() => page.locator('.gal-item[data-generation]').count()).toBe(before + Number(kept));
    const jobs = await app.server.backend.call('jobs.list', { kind: 'generate' });
    const last = jobs.ok ? (jobs.result as { jobs: { status: string }[] }).jobs[0] : null;
    expect(last?.status).toMatch(/cancelled|done/);
  });

  test('tokenizing a dataset shows the codebook-usage chart', async () => {
    const { page } = app;
    const dir = join(app.tmp, 'shapes');
    await writeImageFolder(dir);
    const r = await app.server.backend.call('datasets.import', { kind: 'imagefolder', path: dir, name: 'shapes' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const jobId = (r as { result: { job: { id: number } } }).result.job.id;
    await expect.poll(async () => { const j = await app.server.backend.call('jobs.get', { id: jobId }); return j.ok ? (j.result as { status: string }).status : 'missing'; }, { timeout: 30_000 }).toBe('done');
    await openView(app, 'Datasets');
    await page.getByRole('option', { name: /shapes/ }).click();
    await page.getByRole('tab', { name: 'Codebook' }).click();
    await page.getByText(/No codes cached/).waitFor();
    await page.getByRole('button', { name: 'Tokenize dataset' }).click();
    const chart = page.locator('svg[aria-label^="Codebook usage:"]');
    await chart.waitFor({ timeout: 120_000 });
    const [, used, size] = /(\d+) of (\d+) codes/.exec((await chart.getAttribute('aria-label')) ?? '') ?? [];
    expect(Number(used)).toBeGreaterThan(0);
    expect(Number(used)).toBeLessThanOrEqual(Number(size));
    await page.locator('svg[aria-label^="Codebook histogram"] rect.bar').first().waitFor();
    await expect.poll(() => page.locator('.job-progress [data-status="done"]').count()).toBeGreaterThan(0);
    await screenshot(app, 'datasets-codebook');
  });

  test('an evaluation started from a model card runs as a job and its numbers are listed', async () => {
    const { page } = app;
    // the shapes dataset (imported above) becomes the test split, through the API
    const ds = await app.server.backend.call('datasets.list', {});
    const shapes = (ds.ok ? (ds.result as { datasets: { id: number; name: string }[] }).datasets : []).find((d) => d.name === 'shapes')!;
    const items = await app.server.backend.call('datasets.items', { datasetId: shapes.id });
    const ids = (items.ok ? (items.result as { items: { id: number }[] }).items : []).map((i) => i.id);
    expect((await app.server.backend.call('datasets.setSplit', { itemIds: ids, split: 'test' })).ok).toBe(true);

    await openView(app, 'Models');
    const card = page.locator('.model-card', { has: page.locator('.badge', { hasText: /^tokenizer$/ }) }).first();
    await card.getByText('Evaluation results').click();
    await card.getByText(/No evaluations yet/).waitFor();
    await card.getByLabel('Evaluation dataset').selectOption({ label: 'shapes' });
    await card.getByLabel('Evaluation split').selectOption('test');
    await card.getByLabel('Images to evaluate').fill('6');
    await card.getByRole('button', { name: 'Evaluate' }).click();
    await card.locator('.job-progress').waitFor({ timeout: 10_000 });
    const entry = card.locator('[data-evaluation]').first();
    await entry.waitFor({ timeout: 120_000 });
    expect(await entry.getByTestId('eval-dataset').textContent()).toBe('shapes');
    const numbers = await entry.locator('dl.metrics dd').allTextContents();
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.some((t) => /\d/.test(t))).toBe(true);
    await card.scrollIntoViewIfNeeded();
    await screenshot(app, 'models-evaluation');
  });

  test('every view, with content, in light and dark', async () => {
    await screenshotAllViews(app, 'model-');
    // the model card lists the card's measured metrics
    await app.page.emulateMedia({ colorScheme: 'light' });
    await openView(app, 'Models');
    await app.page.locator('.model-card[data-model] dl.metrics').first().waitFor();
  });
});
