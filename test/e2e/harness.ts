// End-to-end harness: a freshly built renderer (Vite's JS API, into a temp folder), a real
// `startServer` on a temp data folder with the repo's models/, and Debian's Chromium driven by
// playwright-core. Records every request the page makes so tests can prove it stays offline.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { startServer, type RunningServer } from '../../src-main/server/server.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = '/usr/bin/chromium';

export interface App {
  server: RunningServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  tmp: string;
  /** Every URL the page requested, and console errors (CSP violations land there). */
  requests: string[];
  consoleErrors: string[];
  url: string;
  close(): Promise<void>;
}

/** A production build (vitest sets NODE_ENV=test, which would bundle React's slow development build). */
export async function buildRenderer(outDir: string): Promise<void> {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(ROOT, 'vite.config.ts'), mode: 'production', logLevel: 'error', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = env;
  }
}

export async function startApp(opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<App> {
  const tmp = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const rendererDir = join(tmp, 'renderer');
  await buildRenderer(rendererDir);
  const server = await startServer({ port: 0, dataDir: join(tmp, 'data'), modelsDir: resolve(ROOT, 'models'), rendererDir });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: opts.colorScheme ?? 'light', deviceScaleFactor: 1 });
  const page = await context.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const url = `${server.url}/#token=${server.token}`;
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    server, browser, context, page, tmp, requests, consoleErrors, url,
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Opens the app at a view (#datasets, …) and waits for the shell. */
export async function openView(app: App, view: string): Promise<void> {
  const { page } = app;
  if (!page.url().startsWith(app.server.url)) {
    await page.goto(app.url);
    await page.locator('nav.sidebar').waitFor();
  }
  await page.getByRole('button', { name: new RegExp(`^${view}`, 'i') }).first().click();
  await page.locator(`section.view[aria-label="${view}"]`).waitFor();
}

export async function screenshot(app: App, name: string): Promise<void> {
  await app.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Screens the five views in light and dark. */
export async function screenshotAllViews(app: App, prefix = ''): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await app.page.emulateMedia({ colorScheme: scheme });
    for (const view of ['Chat', 'Generate', 'Datasets', 'Training', 'Models']) {
      await openView(app, view);
      await app.page.mouse.move(900, 500); // no hover state in the picture
      await app.page.waitForTimeout(300);
      await screenshot(app, `${prefix}${view.toLowerCase()}-${scheme}`);
    }
  }
  await app.page.emulateMedia({ colorScheme: 'light' });
}

/** Requests that left the app's own origin (data: and blob: are in-page). */
export function foreignRequests(app: App): string[] {
  return app.requests.filter((u) => !u.startsWith(app.server.url) && !u.startsWith('data:') && !u.startsWith('blob:'));
}
