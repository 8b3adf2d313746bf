// Test runner settings: tests live under test/ (one convention), run in forked processes so native
// modules (onnxruntime-node, better-sqlite3, sharp) load cleanly, at most two at a time (2 cores).
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // the 100k-item grid (`npm run test:e2e`) runs apart; the browser flows on the default model
    // (models/tessera-emoji) are part of the suite (also alone: `npm run test:e2e:model`)
    exclude: [...configDefaults.exclude, 'test/e2e/scale.e2e.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
