/** The key tree with a search box: matching keys stay, with the sub-databases leading to them. */
import type { TreeNode } from './api.js';
import { formatBytes, h } from './dom.js';

export interface TreeOptions {
  selected: string | undefined;
  query: string;
  onSelect(key: string[]): void;
}

export function renderTree(nodes: TreeNode[], options: TreeOptions): HTMLElement {
  const query = options.query.trim().toLowerCase();
  const list = h('ul', { class: 'tree', role: 'tree' });
  for (const node of nodes) {
    const item = renderNode(node, options, query);
    if (item) list.append(item);
  }
  if (list.childElementCount === 0) list.append(h('li', { class: 'empty' }, query ? `no key matches '${options.query}'` : 'no keys'));
  return list;
}

function matches(node: TreeNode, query: string): boolean {
  if (query === '' || node.key.join('/').toLowerCase().includes(query)) return true;
  return (node.children ?? []).some((child) => matches(child, query));
}

function describe(node: TreeNode): string {
  const parts = [node.loader];
  if (node.rows !== null && node.columns !== null) parts.push(`${node.rows.toLocaleString()} x ${node.columns.toLocaleString()}`);
  if (node.partitions !== null && node.partitions > 1) parts.push(`${node.partitions} parts`);
  if (node.size > 0) parts.push(formatBytes(node.size));
  return parts.join(' · ');
}

function renderNode(node: TreeNode, options: TreeOptions, query: string): HTMLElement | undefined {
  if (!matches(node, query)) return undefined;
  const path = node.key.join('/');
  if (node.children) {
    const children = h('ul', { role: 'group' });
    for (const child of node.children) {
      const item = renderNode(child, options, query);
      if (item) children.append(item);
    }
    return h('li', { role: 'treeitem', 'aria-expanded': 'true' },
      h('details', { open: true }, h('summary', { class: 'subdb', title: path }, `${node.name}/`, h('span', { class: 'info' }, `sub-database · ${node.children.length} keys`)), children));
  }
  const button = h('button', {
    class: `key${options.selected === path ? ' selected' : ''}${node.error ? ' broken' : ''}`,
    'data-key': path,
    title: node.error ?? `${path}${node.time ? `\nwritten ${new Date(node.time).toLocaleString()}` : ''}`,
    onclick: () => options.onSelect(node.key),
  }, h('span', { class: 'name' }, node.name), h('span', { class: 'info' }, node.error ? 'unreadable' : describe(node)));
  return h('li', { role: 'treeitem' }, button);
}
