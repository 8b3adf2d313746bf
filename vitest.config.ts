// Test runner settings: tests live under test/ (one convention), run in forked processes so native
// modules (onnxruntime-node, better-sqlite3, sharp) load cleanly, at most two at a time (2 cores).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
