// End-to-end, in a real browser against a real server and store (no model needed): import an
// imagefolder of real PNGs, edit a caption and see it persisted after a reload, start a short
// training of the 'classifier' recipe, watch the loss chart move, cancel it; attach images to a chat
// message by drag and drop and by paste; screenshots of every
// view in light and dark; and the page never requests anything outside its own origin.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeImageFolder } from './fixtures.ts';
import { ROOT, foreignRequests, openView, screenshot, screenshotAllViews, startApp, type App } from './harness.ts';

let app: App;

beforeAll(async () => { app = await startApp(); });
afterAll(async () => { await app?.close(); });

describe('Tessera in the browser', () => {
  test('imports a dataset, edits a caption, and the edit survives a reload', async () => {
    const { page } = app;
    const dir = join(app.tmp, 'shapes');
    const { captions } = await writeImageFolder(dir);
    await openView(app, 'Datasets');
    await page.getByRole('button', { name: 'Import dataset' }).click();
    await page.getByLabel('Source').selectOption('imagefolder');
    await page.getByLabel('Folder with metadata.jsonl').fill(dir);
    await page.getByLabel('Name').fill('shapes');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // 5 s alone; 60 s like the training waits below, as CI runs it beside model-loading suites (once 33 s there)
    await page.locator('.job-progress [data-status="done"]').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Open dataset' }).click();

    const cells = page.locator('.item-cell');
    await expect.poll(() => cells.count(), { timeout: 10_000 }).toBe(captions.length);
    await expect.poll(async () => (await page.locator('.item-cell img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth === 48).length))).toBe(captions.length);
    await expect.poll(() => page.locator('.item-cell .cap').first().textContent()).toBe(captions[0]);
    await screenshot(app, 'datasets-grid');

    await cells.first().click();
    const box = page.getByLabel(/^Caption/);
    await expect.poll(() => box.inputValue()).toBe(captions[0]);
    await box.fill('a bright red circle, edited');
    await page.getByRole('button', { name: 'Save caption' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    await screenshot(app, 'datasets-inspector');

    await page.reload();
    await page.locator('.item-cell').first().waitFor();
    await expect.poll(() => page.locator('.item-cell .cap').first().textContent()).toBe('a bright red circle, edited');
    await page.locator('.item-cell').first().click();
    await expect.poll(() => page.getByLabel(/^Caption/).inputValue()).toBe('a bright red circle, edited');
    // the history keeps the imported caption
    await page.getByText('Caption history (2)').click();
    await expect.poll(() => page.locator('.history li').count()).toBe(2);

    // filters: text search narrows the grid
    await page.getByLabel('Search captions and paths').fill('square');
    await expect.poll(() => page.locator('.item-cell').count(), { timeout: 5000 }).toBe(3);
  });

  test('starts a short training, the loss chart moves, and it can be cancelled', async () => {
    const { page } = app;
    await openView(app, 'Training');
    await page.getByRole('button', { name: 'New training' }).click();
    await page.locator('[data-recipe="classifier"]').click();
    await page.getByLabel('Steps', { exact: true }).fill('400');
    await page.getByLabel('Batch size', { exact: true }).fill('16');
    await screenshot(app, 'training-new');
    await page.getByRole('button', { name: 'Start training' }).click();

    const chart = page.locator('svg[aria-label="Loss"]');
    await chart.waitFor({ timeout: 60_000 });
    const points = async () => Number(await chart.getAttribute('data-points'));
    await expect.poll(points, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const before = await chart.locator('path.line').getAttribute('d');
    const n0 = await points();
    await expect.poll(points, { timeout: 30_000 }).toBeGreaterThan(n0);
    expect(await chart.locator('path.line').getAttribute('d')).not.toBe(before);
    // the run's job (and with it the bar) arrives by its own request: wait for it rather than sample once
    await page.locator('.run-detail [role=progressbar]').first().waitFor({ timeout: 30_000 });
    await screenshot(app, 'training-live');

    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.run-detail [data-status="cancelled"]').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-run] [data-status="cancelled"]').first().waitFor();
  });

  test('images attach to a chat message by drag and drop and by paste', async () => {
    const { page } = app;
    await openView(app, 'Chat');
    const png = readFileSync(join(ROOT, 'node_modules/emoji-datasource-google/img/google/64/1f34e.png')).toString('base64');
    // a real DataTransfer with a real PNG file, as the OS hands it to the page
    const transfer = (name: string) => page.evaluateHandle(({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: 'image/png' }));
      return dt;
    }, { b64: png, name });
    await page.locator('.composer').dispatchEvent('drop', { dataTransfer: await transfer('dropped.png') });
    await expect.poll(() => page.locator('.composer .att img[alt="dropped.png"]').count()).toBe(1);
    const pasted = await transfer('pasted.png');
    await page.getByLabel('Message').evaluate((el, dt) => el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt as DataTransfer, bubbles: true, cancelable: true })), pasted);
    await expect.poll(() => page.locator('.composer .att img').count()).toBe(2);
    expect(await page.locator('.composer .att img[alt="pasted.png"]').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(64);
    // a file that is not an image is refused with a sentence
    const text = await page.evaluateHandle(() => { const dt = new DataTransfer(); dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' })); return dt; });
    await page.locator('.composer').dispatchEvent('drop', { dataTransfer: text });
    await page.getByText('Not attached: notes.txt is not an image.').waitFor();
    await page.getByRole('button', { name: 'Remove dropped.png' }).click();
    await expect.poll(() => page.locator('.composer .att img').count()).toBe(1);
  });

  test('asking for an execution provider this machine lacks is refused with the reason', async () => {
    const { page } = app;
    await openView(app, 'Models');
    const rt = await app.server.backend.call('runtime.get', {});
    const missing = (rt.ok ? (rt.result as { providers: { name: string; available: boolean }[] }).providers : []).find((p) => !p.available);
    expect(missing, 'every provider is available here: nothing to refuse').toBeTruthy();
    await page.getByLabel('Execution provider').selectOption(missing!.name);
    await page.getByRole('status').filter({ hasText: 'is not available on this machine' }).waitFor();
    await page.getByRole('button', { name: 'Apply' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(new RegExp(`${missing!.name} execution provider is not available here.*keeps running on cpu`, 'i'));
    await screenshot(app, 'models-provider-unavailable');
    // nothing changed: still the CPU
    const after = await app.server.backend.call('runtime.get', {});
    expect(after.ok && (after.result as { provider: string }).provider).toBe('cpu');
  });

  test('chat-and-drawing threads are set apart from the training threads', async () => {
    const { page } = app;
    await openView(app, 'Models');
    await page.getByLabel('Execution provider').selectOption('cpu');
    const before = await app.server.backend.call('runtime.get', {});
    const { threads, maxThreads } = (before.ok ? before.result : {}) as { threads: number; maxThreads: number };
    const slider = page.getByLabel(/Chat and drawing threads/);
    expect(await slider.inputValue()).toBe('1');
    await slider.fill(String(maxThreads));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(`${maxThreads} thread${maxThreads === 1 ? '' : 's'} for chat and drawing`).waitFor();
    const after = await app.server.backend.call('runtime.get', {});
    expect(after.ok && after.result).toMatchObject({ provider: 'cpu', threads, inferenceThreads: maxThreads });
    await slider.fill('1');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('1 thread for chat and drawing').waitFor();
  });

  test('every view renders in light and dark, with no request leaving the origin', async () => {
    await screenshotAllViews(app);
    await app.page.getByRole('button', { name: /theme/i }).click(); // system → light
    await app.page.getByRole('button', { name: /theme/i }).click(); // light → dark
    expect(await app.page.locator('html').getAttribute('data-theme')).toBe('dark');
    expect(foreignRequests(app)).toEqual([]);
    expect(app.consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
