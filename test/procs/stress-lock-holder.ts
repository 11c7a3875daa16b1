/** Takes the write lock of key <key> in <db> and holds it (kept fresh) until killed. */
import path from 'node:path';
import { acquireLock } from '../../src/store/locks.js';

const [dbDir, key] = process.argv.slice(2);
await acquireLock(path.join(dbDir!, key!), path.join(dbDir!, `${key!}.lock`), key!, { timeoutMs: 10_000, staleMs: 2000 });
process.stdout.write('locked\n');
setInterval(() => undefined, 1 << 30);
