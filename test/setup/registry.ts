/**
 * Before every test file: $ISFDB_REGISTRY points at a fresh temp folder, so nothing a test opens
 * (in this process or in the processes it spawns, which inherit the environment) registers in the
 * user's registry. Tests that need their own registry still set theirs (test/core/helpers.ts).
 */
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const registry = fsSync.mkdtempSync(path.join(os.tmpdir(), 'isfdb-test-registry-'));
process.env['ISFDB_REGISTRY'] = registry;
process.env['ISFDB_TEST_REGISTRY'] = registry;

afterAll(() => {
  fsSync.rmSync(registry, { recursive: true, force: true });
});
