// E2E suites on their own (npm run test:e2e): the browser flows that need no model (app.e2e also
// runs in the default `npm test`) and the 100k-item grid (scale.e2e, heavier: only here). The flows
// that need the default model (chat caption, generate) run with vitest.model.config.ts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/e2e/app.e2e.test.ts', 'test/e2e/scale.e2e.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
