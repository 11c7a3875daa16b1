/** The viewer's JSON API against a database built by initSimrun, checked against the public API. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBase } from '../../src/index.js';
import { PartitionedFrame } from '../../src/frames.js';
import type { RunningServer } from '../../src/server/index.js';
import { cleanupTemp } from '../core/helpers.js';
import { buildDemoDb, originOf, serve, type DemoDb } from './helpers.js';
import { rawRequest } from './http.js';

let demo: DemoDb;
let server: RunningServer;
let origin: string;
let db: DataBase;

beforeAll(async () => {
  demo = await buildDemoDb();
  server = await serve(demo.dir);
  origin = originOf(server);
  db = await DataBase.open(demo.dir, { readonly: true });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await cleanupTemp();
});

async function json<T>(target: string): Promise<T> {
  const response = await fetch(`${origin}${target}`);
  expect(response.status, `${target}: ${await response.clone().text()}`).toBe(200);
  return response.json() as Promise<T>;
}

interface Node { name: string; key: string[]; loader: string; size: number; time: string | null; partitions: number | null; rows: number | null; columns: number | null; children?: Node[] }

describe('viewer API', { timeout: 60_000 }, () => {
  it('the key tree has loader, size, partitions, rows x columns and time, with sub-databases as children', async () => {
    const tree = await json<Node[]>('/api/tree');
    const vt = tree.find((n) => n.name === 'voltage_traces')!;
    const frame = (await db.get('voltage_traces')) as PartitionedFrame;
    expect(vt).toMatchObject({ loader: 'dask_to_parquet', partitions: frame.numPartitions, rows: 20, columns: 401 });
    expect(vt.size).toBe((await db.history('voltage_traces')).at(-1)!.size);
    expect(Date.parse(vt.time!)).toBeGreaterThan(Date.parse('2020-01-01'));
    const dendritic = tree.find((n) => n.name === 'dendritic_recordings')!;
    expect(dendritic.loader).toBe('just_create_isf_db');
    expect(dendritic.children!.map((c) => c.key)).toEqual((await db.keys({ recurse: true })).filter((k) => k[0] === 'dendritic_recordings'));
    expect(tree.map((n) => n.name)).toEqual(await db.keys());
  });

  it('a key: metadata as stored, files, shape, view and the code lines', async () => {
    const details = await json<{ metadata: Record<string, unknown>; files: Array<{ path: string; size: number }>; view: string; code: { typescript: string; python: string } }>('/api/key?key=voltage_traces');
    expect(details.metadata).toEqual(await db.metadata('voltage_traces'));
    expect(details.metadata['full-revisionid']).toBe(demo.commit);
    expect(details.files.map((f) => f.path)).toContain('divisions.json');
    expect(details.view).toBe('traces');
    const shape = await json<{ partitions: number; rows: number; columns: number }>('/api/shape?key=voltage_traces');
    expect(shape).toEqual({ partitions: ((await db.get('voltage_traces')) as PartitionedFrame).numPartitions, rows: 20, columns: 401 });
    expect(details.code.typescript).toBe(`const value = await (await DataBase.open(${JSON.stringify(db.basedir)}, { readonly: true })).get("voltage_traces");`);
    expect(details.code.python).toBe(`from data_base import DataBase; value = DataBase('${db.basedir}', readonly=True)['voltage_traces']`);
    const tuple = await json<{ code: { python: string } }>(`/api/key?key=${encodeURIComponent((await db.keys({ recurse: true })).find((k) => k[0] === 'dendritic_recordings')!.join('/'))}`);
    expect(tuple.code.python).toMatch(/\[\('dendritic_recordings', 'apical_[^']+'\)\]$/);
    expect((await json<{ view: string }>('/api/key?key=spike_times')).view).toBe('spikes');
  });

  it('history with a diff, and lineage with the stale key and its reason', async () => {
    const history = await json<{ versions: Array<{ version: unknown }>; diff: { contentChanged: boolean } }>('/api/history?key=params&diff=1,current');
    expect(history.versions.map((v) => v.version)).toEqual([1, 'current']);
    expect(history.diff.contentChanged).toBe(true);
    const lineage = await json<Array<{ key: string[]; inputs: string[][]; stale: Array<{ input: string[]; kind: string }> }>>('/api/lineage');
    const byKey = new Map(lineage.map((n) => [n.key.join('/'), n]));
    expect(byKey.get('spike_count')).toMatchObject({ inputs: [['spike_times']], stale: [] });
    expect(byKey.get('rate_summary')!.inputs.map((k) => k.join('/')).sort()).toEqual(['params', 'spike_count']);
    expect(byKey.get('rate_summary')!.stale).toEqual([expect.objectContaining({ input: ['params'], kind: 'changed' })]);
  });

  it('frame slices by positions, ids and index range, as JSON and Arrow IPC, equal what the library reads', async () => {
    const whole = await ((await db.get('voltage_traces')) as PartitionedFrame).read();
    const ids = whole.getChild('sim_trial_index')!.toArray() as string[];
    const columns = ['100.0', '105.0'];
    const expected = (rows: number[]) => columns.map((c) => rows.map((r) => whole.getChild(c)!.get(r) as number));
    const byPosition = await json<{ index: string[]; positions: number[]; data: number[][] }>(`/api/frame?key=voltage_traces&start=3&stop=9&columns=${columns.join(',')}`);
    expect(byPosition.index).toEqual(ids.slice(3, 9));
    expect(byPosition.positions).toEqual([3, 4, 5, 6, 7, 8]);
    expect(byPosition.data).toEqual(expected([3, 4, 5, 6, 7, 8]));
    const byIds = await json<{ index: string[]; data: number[][] }>(`/api/frame?key=voltage_traces&ids=${encodeURIComponent(`${ids[12]},${ids[2]}`)}&columns=${columns.join(',')}`);
    expect(byIds.index).toEqual([ids[2], ids[12]]);
    expect(byIds.data).toEqual(expected([2, 12]));
    const byRange = await json<{ index: string[] }>(`/api/frame?key=voltage_traces&lo=${encodeURIComponent(ids[4]!)}&hi=${encodeURIComponent(ids[7]!)}&columns=`);
    expect(byRange.index).toEqual(ids.slice(4, 8));
    const byColumnPositions = await json<{ columns: string[] }>('/api/frame?key=voltage_traces&stop=1&colStart=10&colStop=13');
    expect(byColumnPositions.columns).toEqual(['100.25', '100.275', '100.3']);
    const response = await fetch(`${origin}/api/frame?key=voltage_traces&start=3&stop=9&columns=${columns.join(',')}&format=arrow`);
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table: Table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    expect(table.getChild('sim_trial_index')!.toArray()).toEqual(ids.slice(3, 9));
    expect(columns.map((c) => Array.from(table.getChild(c)!.toArray() as Float64Array))).toEqual(expected([3, 4, 5, 6, 7, 8]));
  });

  it('refuses unknown columns, oversized and malformed selections with 4xx and a reason', async () => {
    expect((await fetch(`${origin}/api/frame?key=voltage_traces&columns=nope`)).status).toBe(400);
    expect((await fetch(`${origin}/api/frame?key=voltage_traces&start=0&stop=20000`)).status).toBe(413);
    expect((await fetch(`${origin}/api/frame?key=voltage_traces&start=5&stop=2`)).status).toBe(400);
    expect((await fetch(`${origin}/api/frame?key=params`)).status).toBe(400);
    expect((await fetch(`${origin}/api/frame?key=no_such_key`)).status).toBe(404);
    expect((await fetch(`${origin}/api/traces?key=voltage_traces&bins=1`)).status).toBe(400);
    const notJson = await fetch(`${origin}/api/frame?key=voltage_traces&where=x%3E1`);
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/^where must be JSON in the query dialect/);
    const badOperator = await fetch(`${origin}/api/frame?key=voltage_traces&where=${encodeURIComponent('{"100.0": {"almost": 1}}')}`);
    expect(badOperator.status).toBe(400);
    expect(((await badOperator.json()) as { error: string }).error).toMatch(/^where-clause/);
  });

  it('rows by a where of the query dialect: the same rows as a plain filter of the whole frame', async () => {
    const whole = await ((await db.get('voltage_traces')) as PartitionedFrame).read();
    const ids = whole.getChild('sim_trial_index')!.toArray() as string[];
    const values = whole.getChild('100.5')!.toArray() as Float64Array;
    const threshold = [...values].sort((a, b) => a - b)[10]!;
    const expected = ids.filter((_, r) => values[r]! > threshold);
    expect(expected.length).toBeGreaterThan(3);
    const where = encodeURIComponent(JSON.stringify({ '100.5': { gt: threshold } }));
    const answer = await json<{ index: string[]; data: number[][] }>(`/api/frame?key=voltage_traces&where=${where}&columns=100.5`);
    expect(answer.index).toEqual(expected);
    expect(answer.data[0]!.every((v) => v > threshold)).toBe(true);
    const traces = await json<{ selected: number }>(`/api/traces?key=voltage_traces&where=${where}&bins=50`);
    expect(traces.selected).toBe(expected.length);
    const none = await json<{ index: string[] }>(`/api/frame?key=voltage_traces&where=${encodeURIComponent('{"sim_trial_index": {"eq": "nope"}}')}&columns=`);
    expect(none.index).toEqual([]);
  });

  it('traces are min/max decimated per bin: every bin holds exactly the min and max of its points', async () => {
    const view = await json<{ times: number[]; traces: Array<{ id: string; y: number[] }>; decimated: boolean; points: number; selected: number }>('/api/traces?key=voltage_traces&start=2&stop=4&bins=40');
    expect(view).toMatchObject({ decimated: true, points: 401, selected: 2 });
    expect(view.times.length).toBe(80);
    const whole = await ((await db.get('voltage_traces')) as PartitionedFrame).read();
    const labels = whole.schema.fields.map((f) => f.name).filter((n) => n !== 'sim_trial_index');
    const row = labels.map((c) => whole.getChild(c)!.get(2) as number);
    for (let b = 0; b < 40; b++) {
      const lo = Math.floor((b * 401) / 40);
      const hi = Math.floor(((b + 1) * 401) / 40);
      const points = row.slice(lo, hi);
      const pair = view.traces[0]!.y.slice(2 * b, 2 * b + 2);
      expect([Math.min(...pair), Math.max(...pair)]).toEqual([Math.min(...points), Math.max(...points)]);
      expect(view.times[2 * b]).toBe(Number(labels[lo]));
    }
    const window = await json<{ times: number[]; decimated: boolean }>('/api/traces?key=voltage_traces&ids=' + encodeURIComponent(whole.getChild('sim_trial_index')!.get(0) as string) + '&t0=101&t1=102&bins=100');
    expect(window.decimated).toBe(false);
    expect(window.times[0]).toBe(101);
    expect(window.times.at(-1)).toBe(102);
  });

  it('spike times per trial, without the NaN padding', async () => {
    const table = (await db.get('spike_times')) as Table;
    const spikes = await json<{ trials: Array<{ id: string; times: number[] }> }>('/api/spikes?key=spike_times');
    expect(spikes.trials.length).toBe(table.numRows);
    const first = table.get(0)!.toJSON() as Record<string, unknown>;
    expect(spikes.trials[0]!.times).toEqual(Object.entries(first).filter(([k, v]) => k !== 'sim_trial_index' && Number.isFinite(v)).map(([, v]) => v));
    // The PSTH is ISF's temporal binning: spikes per trial in bins of `bin` ms from the first spike.
    const binned = await json<{ psth: { binSize: number; borders: number[]; counts: number[] } }>('/api/spikes?key=spike_times&bin=2');
    const all = spikes.trials.flatMap((t) => t.times);
    const { borders, counts } = binned.psth;
    expect(borders[0]).toBe(Math.min(...all));
    expect(borders[1]! - borders[0]!).toBeCloseTo(2, 9);
    const byLoop = counts.map((_, i) => all.filter((t) => t >= borders[i]! && (i === counts.length - 1 ? t <= borders[i + 1]! : t < borders[i + 1]!)).length / spikes.trials.length);
    counts.forEach((count, i) => expect(count).toBeCloseTo(byLoop[i]!, 12));
    expect((await fetch(`${origin}/api/spikes?key=spike_times&bin=0`)).status).toBe(400);
  });

  it('raw part files with HTTP ranges', async () => {
    const folder = await db.folderOf('voltage_traces');
    const name = (await fs.readdir(folder)).find((f) => f.endsWith('.parquet'))!;
    const bytes = await fs.readFile(path.join(folder, name));
    const whole = await fetch(`${origin}/raw/voltage_traces/${name}`);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const tail = await fetch(`${origin}/raw/voltage_traces/${name}`, { headers: { range: 'bytes=-8' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${bytes.length - 8}-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 8))).toBe(true);
    const middle = await fetch(`${origin}/raw/voltage_traces/${name}`, { headers: { range: 'bytes=4-11' } });
    expect(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(4, 12))).toBe(true);
    expect((await fetch(`${origin}/raw/voltage_traces/${name}`, { headers: { range: `bytes=${bytes.length}-` } })).status).toBe(416);
    expect((await fetch(`${origin}/raw/voltage_traces/${name}`, { headers: { range: 'bytes=0-1,5-6' } })).status).toBe(416);
    const tuple = (await db.keys({ recurse: true })).find((k) => k[0] === 'dendritic_recordings')!;
    expect((await fetch(`${origin}/raw/dendritic_recordings/db/${tuple[1]}/divisions.json`)).status).toBe(200);
  });

  it('has no write route: every other method is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const target of ['/api/key?key=params', '/raw/params/Loader.json', '/']) {
        const response = await rawRequest(origin, target, { method, body: '{"x":1}', headers: { 'content-type': 'application/json' } });
        expect(response.status, `${method} ${target}`).toBe(403);
      }
    }
    expect(await db.get('params')).toEqual({ bin_ms: 2 });
  });

  it('sends no CORS headers, and sets a restrictive content security policy', async () => {
    const response = await fetch(`${origin}/api/info`, { headers: { origin: 'http://example.org' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });
});
