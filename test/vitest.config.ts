/**
 * The suite's configuration (`npm test` runs `vitest run --config test/vitest.config.ts`; run one
 * file with `npx vitest run --config test/vitest.config.ts test/<file>`). It lives here because
 * the repository's top level is fixed; `dir` keeps vitest out of dist/test.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default defineConfig({
  root,
  test: {
    dir: 'test',
    // Before any test: the run's temp folder (global) and a temp registry per test file (setupFiles).
    globalSetup: ['test/setup/global.ts'],
    setupFiles: ['test/setup/registry.ts'],
  },
});
