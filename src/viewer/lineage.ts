/** The lineage graph of computed keys: inputs -> result, left to right by depth; stale keys marked. */
import { getJson, type LineageNode } from './api.js';
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

export async function renderLineage(selected: string | undefined, onSelect: (key: string[]) => void): Promise<HTMLElement> {
  const nodes = await getJson<LineageNode[]>('/api/lineage');
  const section = h('section', { class: 'lineage' }, h('h2', {}, 'Lineage'));
  if (nodes.length === 0) {
    section.append(h('p', { class: 'hint' }, 'No key here was computed by maybeCalculate with inputs, so there is no lineage to draw.'));
    return section;
  }
  const computed = new Map(nodes.map((n) => [n.key.join('/'), n]));
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen = new Set<string>()): number => {
    if (depth.has(name)) return depth.get(name)!;
    const node = computed.get(name);
    if (!node || seen.has(name)) return 0;
    seen.add(name);
    const d = 1 + Math.max(0, ...node.inputs.map((input) => depthOf(input.join('/'), seen)));
    depth.set(name, d);
    return d;
  };
  const names = new Set<string>();
  for (const node of nodes) { names.add(node.key.join('/')); for (const input of node.inputs) names.add(input.join('/')); }
  const columns = new Map<number, string[]>();
  for (const name of [...names].sort()) {
    const d = depthOf(name);
    columns.set(d, [...(columns.get(d) ?? []), name]);
  }
  const boxW = 200; const boxH = 34; const gapX = 90; const gapY = 18;
  const place = new Map<string, { x: number; y: number }>();
  for (const [d, list] of columns) list.forEach((name, i) => place.set(name, { x: 10 + d * (boxW + gapX), y: 10 + boxH + i * (boxH + gapY) }));
  const width = 20 + (Math.max(...columns.keys()) + 1) * (boxW + gapX);
  const height = 20 + boxH + Math.max(...[...columns.values()].map((l) => l.length)) * (boxH + gapY);
  const graph = svg('svg', { width, height, class: 'lineage-graph', viewBox: `0 0 ${width} ${height}` }) as SVGSVGElement;
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#667' }));
  defs.append(marker);
  graph.append(defs);
  for (const node of nodes) {
    const to = place.get(node.key.join('/'))!;
    for (const input of node.inputs) {
      const from = place.get(input.join('/'))!;
      const staleEdge = node.stale.some((s) => s.input.join('/') === input.join('/'));
      const x1 = from.x + boxW; const y1 = from.y + boxH / 2; const x2 = to.x; const y2 = to.y + boxH / 2;
      // An edge that skips a column arcs over the boxes between instead of running behind them.
      const skips = to.x - from.x > boxW + gapX;
      const lift = Math.min(y1, y2) - boxH;
      const d = skips
        ? `M ${x1} ${y1} C ${x1 + gapX} ${lift}, ${x2 - gapX} ${lift}, ${x2} ${y2}`
        : `M ${x1} ${y1} C ${x1 + gapX / 2} ${y1}, ${x2 - gapX / 2} ${y2}, ${x2} ${y2}`;
      graph.append(svg('path', { d, class: staleEdge ? 'edge stale' : 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const [name, { x, y }] of place) {
    const node = computed.get(name);
    const stale = (node?.stale.length ?? 0) > 0;
    const group = svg('g', { class: `node${stale ? ' stale' : ''}${node ? ' computed' : ''}${selected === name ? ' selected' : ''}`, transform: `translate(${x},${y})`, 'data-key': name });
    group.append(svg('rect', { width: boxW, height: boxH, rx: 5 }));
    group.append(svg('text', { x: 8, y: 21 }, `${stale ? '⚠ ' : ''}${name.length > 26 ? `${name.slice(0, 25)}…` : name}`));
    group.append(svg('title', {}, stale ? `${name}: STALE\n${node!.stale.map((s) => s.message).join('\n')}` : name));
    group.addEventListener('click', () => onSelect(name.split('/')));
    graph.append(group);
  }
  section.append(h('div', { class: 'graph-box' }, graph));
  const staleNodes = nodes.filter((n) => n.stale.length > 0);
  section.append(h('h3', {}, staleNodes.length === 0 ? 'Every computed key is fresh' : `${staleNodes.length} stale key(s)`),
    h('ul', { class: 'stale-list' }, staleNodes.flatMap((n) => n.stale.map((s) => h('li', {}, h('b', {}, n.key.join('/')), `: ${s.message}`)))));
  return section;
}
