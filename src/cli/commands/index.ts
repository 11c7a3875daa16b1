/**
 * Every isfdb command, in the order `isfdb --help` lists them. A command's module (and what it
 * imports: the Parquet codec, initSimrun) is loaded only when that command runs, so `isfdb ls`
 * and `isfdb --help` stay fast.
 */
import type { CommandEntry } from '../command.js';

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'ls', summary: 'list keys as a tree with their loaders', load: async () => (await import('./ls.js')).command },
  { name: 'show', summary: 'show a key: shape, index, dtypes, first rows, size, provenance', load: async () => (await import('./show.js')).command },
  { name: 'query', summary: 'filter a data frame key with a where-clause, reading only what it needs', load: async () => (await import('./query.js')).command },
  { name: 'rm', summary: 'delete keys', load: async () => (await import('./rm.js')).command },
  { name: 'registry', summary: 'list, resolve or prune registered databases', load: async () => (await import('./registry.js')).command },
  { name: 'history', summary: 'list the kept versions of a key with their provenance', load: async () => (await import('./history.js')).command },
  { name: 'diff', summary: 'compare the provenance and content of two versions of a key', load: async () => (await import('./diff.js')).command },
  { name: 'stale', summary: 'list computed keys whose inputs changed (transitively)', load: async () => (await import('./stale.js')).command },
  { name: 'init-simrun', summary: 'build a database from a raw simulation campaign', load: async () => (await import('./init-simrun.js')).command },
  { name: 'gen-simrun', summary: 'write a synthetic raw simulation campaign (seeded)', load: async () => (await import('./gen-simrun.js')).command },
  { name: 'verify', summary: 'recompute checksums and report damaged keys', load: async () => (await import('./verify.js')).command },
  { name: 'optimize', summary: 'rewrite frame keys (also Python-written ones) into our compressed Parquet encoding', load: async () => (await import('./optimize.js')).command },
  { name: 'fsck', summary: 'find (and --repair) debris of killed writers', load: async () => (await import('./fsck.js')).command },
  { name: 'serve', summary: 'browse a database in a web browser (read-only)', load: async () => (await import('./serve.js')).command },
  { name: 'demo', summary: 'generate a small simulation campaign, build its database, list the keys', load: async () => (await import('./demo.js')).command },
  { name: 'run', summary: 'run a step over records in worker processes or on a queue', load: async () => (await import('./run.js')).command },
  { name: 'status', summary: 'per-record status of the steps run in a database', load: async () => (await import('./status.js')).command },
  { name: 'worker', summary: 'process queued records of a steps module (BullMQ on Redis)', load: async () => (await import('./worker.js')).command },
];
