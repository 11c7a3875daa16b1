/** The metadata panel: git commit (dirty highlighted), host, local time, module versions, files; and the "use it in code" box. */
import type { KeyDetails } from './api.js';
import { formatBytes, h, localTime } from './dom.js';

function utcFromTuple(time: unknown): string | null {
  if (!Array.isArray(time) || time.length < 6) return typeof time === 'string' ? time : null;
  const [y, mo, d, hh, mi, s] = time as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, hh!, mi!, s!)).toISOString();
}

export function renderProvenance(details: KeyDetails): HTMLElement {
  const meta = details.metadata;
  const dirty = meta['dirty'] === true;
  const commit = typeof meta['full-revisionid'] === 'string' ? meta['full-revisionid'] : null;
  const rows: Array<[string, Node | string]> = [
    ['git commit', h('code', { class: 'commit' }, commit ?? 'unknown')],
    ['version', String(meta['version'] ?? '-')],
    ['working tree', h('span', { class: dirty ? 'badge dirty' : 'badge clean' }, dirty ? 'DIRTY: uncommitted changes' : meta['dirty'] === false ? 'clean' : 'unknown')],
    ['host', String(meta['hostname'] ?? '-')],
    ['written', `${localTime(utcFromTuple(meta['time']))} (local time)`],
    ['metadata', String(meta['metadata_creation_time'] ?? '-')],
    ['loader', details.loader],
  ];
  if (details.shape) rows.push(['shape', `${details.shape.rows?.toLocaleString() ?? '?'} rows x ${details.shape.columns.toLocaleString()} columns in ${details.shape.partitions} partition(s)`]);
  if (typeof meta['history'] === 'string') rows.push(['command', h('code', {}, meta['history'].slice(0, 2000))]);
  const versions = (meta['module_versions'] ?? {}) as Record<string, unknown>;
  const recipe = meta['isfdb_recipe'];
  return h('section', { class: 'provenance' },
    h('h2', {}, 'Provenance'),
    h('table', { class: 'facts' }, rows.map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value)))),
    recipe ? h('details', {}, h('summary', {}, 'recipe (maybeCalculate)'), h('pre', {}, JSON.stringify(recipe, null, 2))) : null,
    h('details', {}, h('summary', {}, `module versions (${Object.keys(versions).length})`),
      h('table', { class: 'facts' }, Object.entries(versions).map(([name, version]) => h('tr', {}, h('th', {}, name), h('td', {}, String(version)))))),
    h('details', {}, h('summary', {}, `files (${details.files.length})`),
      h('ul', { class: 'files' }, details.files.map((file) => h('li', {},
        h('a', { href: `/raw/${rawPath(details.key, file.path)}`, download: file.path.split('/').pop() ?? file.path }, file.path), ` ${formatBytes(file.size)}`)))),
  );
}

/** The key folder path inside the database: tuple keys live at a/db/b. */
function rawPath(key: string[], file: string): string {
  return [...key.flatMap((part, i) => (i === 0 ? [part] : ['db', part])), ...file.split('/')].map(encodeURIComponent).join('/');
}

export function renderCode(details: KeyDetails): HTMLElement {
  const line = (label: string, text: string): HTMLElement => h('div', { class: 'code-line' },
    h('span', { class: 'lang' }, label), h('code', {}, text),
    h('button', { class: 'copy', onclick: () => void navigator.clipboard?.writeText(text) }, 'copy'));
  return h('section', { class: 'code-box' }, h('h3', {}, 'Use it in code'),
    line('TypeScript', `import { DataBase } from 'isf-data-base';\n${details.code.typescript}`),
    line('Python ISF', details.code.python));
}
