/** Where the user's own registry is: what $ISFDB_REGISTRY or the default names before the tests change it. */
import os from 'node:os';
import path from 'node:path';

export function userRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['ISFDB_TEST_USER_REGISTRY'] ?? env['ISFDB_REGISTRY'];
  return fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : path.join(os.homedir(), '.isf-data-base', 'registry');
}
