/** The history list of a key (kept versions and the current one), with a diff of any two. */
import { getJson, keyParam, type HistoryAnswer } from './api.js';
import { clear, formatBytes, h, localTime } from './dom.js';

export async function renderHistory(key: string[]): Promise<HTMLElement> {
  const answer = await getJson<HistoryAnswer>('/api/history', { key: keyParam(key) });
  const diffBox = h('div', { class: 'diff' });
  const chosen: string[] = [];
  const section = h('section', { class: 'history' }, h('h2', {}, `History (${answer.versions.length} value${answer.versions.length === 1 ? '' : 's'})`));
  if (answer.versions.length < 2) section.append(h('p', { class: 'hint' }, 'Only the current value is kept. Open the database with keepVersions to keep earlier values on overwrite.'));
  const table = h('table', { class: 'grid' }, h('tr', {}, ['', 'version', 'written (local)', 'git commit', 'dirty', 'loader', 'size', 'recipe'].map((t) => h('th', {}, t))));
  for (const version of answer.versions) {
    const id = String(version.version);
    const box = h('input', {
      type: 'checkbox', 'data-version': id,
      onchange: async (event: Event) => {
        const checked = (event.target as HTMLInputElement).checked;
        if (checked) chosen.push(id); else chosen.splice(chosen.indexOf(id), 1);
        while (chosen.length > 2) {
          const dropped = chosen.shift()!;
          const other = table.querySelector<HTMLInputElement>(`input[data-version="${dropped}"]`);
          if (other) other.checked = false;
        }
        clear(diffBox);
        if (chosen.length === 2) diffBox.append(await renderDiff(key, chosen[0]!, chosen[1]!));
      },
    });
    table.append(h('tr', { class: version.dirty ? 'dirty-row' : '' },
      h('td', {}, box), h('td', {}, id), h('td', {}, localTime(version.time)),
      h('td', {}, h('code', {}, version.gitCommit?.slice(0, 10) ?? '-')),
      h('td', {}, version.dirty ? h('span', { class: 'badge dirty' }, 'dirty') : version.dirty === false ? 'clean' : '-'),
      h('td', {}, version.loader), h('td', {}, formatBytes(version.size)), h('td', {}, version.recipe?.slice(0, 10) ?? '-')));
  }
  section.append(table, h('p', { class: 'hint' }, 'Tick two values to compare them.'), diffBox);
  return section;
}

async function renderDiff(key: string[], a: string, b: string): Promise<HTMLElement> {
  const answer = await getJson<HistoryAnswer>('/api/history', { key: keyParam(key), diff: `${a},${b}` });
  const diff = answer.diff!;
  return h('div', {},
    h('h3', {}, `${a} -> ${b}: content ${diff.contentChanged ? 'changed' : 'unchanged'}`),
    diff.fields.length === 0 ? h('p', {}, 'no provenance field differs')
      : h('table', { class: 'grid' }, h('tr', {}, h('th', {}, 'field'), h('th', {}, a), h('th', {}, b)),
        diff.fields.map((f) => h('tr', {}, h('td', {}, f.field), h('td', { class: 'old' }, show(f.a)), h('td', { class: 'new' }, show(f.b))))));
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? '-' : text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
