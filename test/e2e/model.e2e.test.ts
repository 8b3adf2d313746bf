// End-to-end flows that need the default unified model in models/: chat with an image and get a
// caption; generate an image and find it in the gallery. With no model installed these FAIL (they
// are excluded from the default run until the model lands: npm run test:e2e:model).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, openView, screenshot, startApp, type App } from './harness.ts';

let app: App;

beforeAll(async () => {
  app = await startApp();
  const models = await app.server.backend.call('models.list', {});
  const unified = models.ok ? (models.result as { models: { kind: string }[] }).models.filter((m) => m.kind === 'unified') : [];
  if (unified.length === 0) throw new Error(`no unified model found in ${join(ROOT, 'models')}: these flows need the default model (train it or copy it there)`);
});
afterAll(async () => { await app?.close(); });

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
    await screenshot(app, 'chat-caption');
  });

  test('generating an image puts it in the gallery', async () => {
    const { page } = app;
    await openView(app, 'Generate');
    await page.getByLabel('Prompt').fill('a red apple');
    await page.locator('#gen-n').fill('1'); // the count field ("Images" also names the gallery)
    await page.locator('button[type=submit]', { hasText: 'Generate' }).click(); // not the sidebar's Generate
    const item = page.locator('.gal-item[data-generation]').first();
    await item.waitFor({ timeout: 180_000 });
    await expect.poll(() => item.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect((await item.locator('.prompt').textContent())?.trim()).toBe('a red apple');
    await screenshot(app, 'generate-gallery');
  });
});
