/** isfdb registry prune removes dead entries only; --dry-run removes nothing. */
import fsSync from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataBase, Registry } from '../../src/index.js';
import { isfdb, removeTemps, snapshot, tempDir } from './helpers.js';

afterAll(removeTemps);

describe('isfdb registry prune', { timeout: 60_000 }, () => {
  it('finds entries whose folder is gone, holds no database or another one; keeps live and unreadable ones', async () => {
    const registryDir = await tempDir('prune-registry');
    const registry = new Registry(registryDir);
    const root = await tempDir('prune');
    const live = await DataBase.open(path.join(root, 'live'), { registry });
    const sub = await live.createSubDb('sub');
    const gone = await DataBase.open(path.join(root, 'gone'), { registry });
    fsSync.rmSync(gone.basedir, { recursive: true });
    const emptied = await DataBase.open(path.join(root, 'emptied'), { registry });
    fsSync.rmSync(path.join(emptied.basedir, 'db_state.json'));
    await registry.register('2020-01-01_1_other', live.basedir);
    fsSync.writeFileSync(path.join(registryDir, 'broken.json'), '{not json');
    const unreadable = await DataBase.open(path.join(root, 'unreadable'), { registry });
    fsSync.writeFileSync(path.join(unreadable.basedir, 'db_state.json'), '{damaged');
    const env = { ISFDB_REGISTRY: registryDir };

    const before = snapshot(registryDir);
    const dry = isfdb(['registry', 'prune', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(snapshot(registryDir)).toEqual(before);
    expect(dry.stdout).toContain(`would remove ${gone.id}\t${gone.basedir}\t(the folder is gone)`);
    expect(dry.stdout).toContain(`would remove ${emptied.id}\t${emptied.basedir}\t(the folder holds no database (no db_state.json))`);
    expect(dry.stdout).toContain(`would remove 2020-01-01_1_other\t${live.basedir}\t(the database there has another id, '${live.id}')`);
    expect(dry.stdout).toMatch(/would remove broken\t-\t\(unreadable entry file: /);
    expect(dry.stdout).toContain(': 4 dead entries found (--dry-run: nothing removed), 3 left\n');
    expect(dry.stderr).toContain(`${unreadable.id}\t${unreadable.basedir}\t(kept, cannot check it now:`);

    const json = JSON.parse(isfdb(['registry', 'prune', '--json'], { env }).stdout) as { removed: Array<{ id: string }>; kept: Array<{ id: string }> };
    expect(json.removed.map((r) => r.id).sort()).toEqual(['2020-01-01_1_other', 'broken', emptied.id, gone.id].sort());
    expect(json.kept.map((r) => r.id)).toEqual([unreadable.id]);
    const { entries, broken } = await registry.list();
    expect(broken).toEqual([]);
    expect(entries.map((e) => e.id).sort()).toEqual([live.id, sub.id, unreadable.id].sort());
  });
});
