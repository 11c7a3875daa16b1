/**
 * Parameter files of a campaign: hash (md5 of the bytes), parse, find the files they name,
 * check those exist (before anything is written), and later copy everything into managed
 * folders with the paths rewritten to reldb:// so the database stands alone.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputProblemError, type InputProblem } from './parse-csv.js';
import { ParamSyntaxError, type ParamReference, type PyValue, type StringSpans, findReferences, parsePyLiteral, replaceStrings } from './param-file.js';
import type { RunFolder } from './scan.js';

export interface FolderParams {
  neuronPath: string;
  networkPath: string;
  neuronHash: string;
  networkHash: string;
}

interface UniqueParam {
  which: 'neuron' | 'network';
  file: string;
  text: string;
  spans: StringSpans;
  value: PyValue;
  refs: (ParamReference & { abs: string })[];
}

export interface ParamScan {
  byFolder: Map<string, FolderParams>;
  unique: Map<string, UniqueParam>;
  /** folders refused (when recording failures instead of throwing) */
  failed: { folder: RunFolder; problem: InputProblem }[];
  /** every referenced file that does not exist (after the path map), once each */
  missing: MissingReference[];
  pathMap: PathMap;
}

/** OLD -> NEW path prefixes, applied to the paths parameter files name before they are resolved. */
export type PathMap = [string, string][];

export interface MissingReference {
  /** the path looked for (after the path map) */
  path: string;
  /** the parameter file that names it */
  paramFile: string;
}

const trimSlash = (p: string): string => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

/** Rewrite `p` by the longest OLD prefix it starts with (on a path-component boundary). */
export function mapPath(p: string, map: PathMap): string {
  let best: [string, string] | undefined;
  for (const [from, to] of map) {
    const old = trimSlash(from);
    if ((p === old || p.startsWith(`${old}/`) || (old.endsWith('/') && p.startsWith(old))) && (!best || old.length > best[0].length)) best = [old, trimSlash(to)];
  }
  return best ? best[1] + p.slice(best[0].length) : p;
}

/**
 * Missing files grouped by the folder they were looked for in, so that the user sees which
 * prefix to map: `/gpfs/.../anatomical_constraints (3 files): 86_C2_center.hoc, ...`.
 */
export function missingReport(missing: MissingReference[]): { prefix: string; files: string[] }[] {
  const groups = new Map<string, Set<string>>();
  for (const m of missing) {
    const dir = path.dirname(m.path);
    if (!groups.has(dir)) groups.set(dir, new Set());
    groups.get(dir)!.add(path.basename(m.path));
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([prefix, files]) => ({ prefix, files: [...files].sort() }));
}

export function describeMissing(missing: MissingReference[]): string {
  const groups = missingReport(missing);
  const list = groups.map((g) => `${g.prefix}/ (${g.files.length} file${g.files.length === 1 ? '' : 's'}: ${g.files.join(', ')})`).join('; ');
  return `${missing.length} referenced file${missing.length === 1 ? '' : 's'} missing, by folder: ${list}. If the campaign was moved from another machine, map the old prefix to the new place with --path-map OLD=NEW (pathMap in the API)`;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function lineOf(text: string, needle: string): number | undefined {
  const at = text.indexOf(needle);
  if (at === -1) return undefined;
  let l = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) l++;
  return l;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

/** Folders whose parameter files are read at once. */
const READ_CONCURRENCY = 32;

export async function scanParams(folders: RunFolder[], recordFailures: boolean, pathMap: PathMap = []): Promise<ParamScan> {
  const byFolder = new Map<string, FolderParams>();
  const unique = new Map<string, UniqueParam>();
  const failed: ParamScan['failed'] = [];
  const missing = new Map<string, MissingReference>();
  const checked = new Map<string, InputProblem | null>();
  // The files of a few folders are read at once (a round trip each on a cluster file system),
  // then checked in folder order, so that the problems are found and reported in the same order.
  for (let i = 0; i < folders.length; i += READ_CONCURRENCY) {
    const batch = folders.slice(i, i + READ_CONCURRENCY);
    const files = batch.flatMap((f) => [f.neuronParam, f.networkParam]).filter((f): f is string => f !== undefined);
    const contents = new Map((await Promise.all(files.map(async (file) => [file, await readFile(file)] as const))));
    for (const folder of batch) {
      let problem: InputProblem | undefined;
      const hashes: string[] = [];
      for (const which of ['neuron', 'network'] as const) {
        const file = which === 'neuron' ? folder.neuronParam : folder.networkParam;
        if (file === undefined) {
          problem ??= { file: folder.dir, reason: `run folder ${folder.dir} has no ${folder.uid}_${which}_model.param` };
          continue;
        }
        const bytes = contents.get(file)!;
        const hash = md5(bytes);
        hashes.push(hash);
        if (!checked.has(hash)) checked.set(hash, await checkParamFile(file, bytes, which, folder, pathMap, unique, hash, missing));
        const p = checked.get(hash);
        // the other parameter file is still checked, so that every missing file is reported
        if (p && !problem) problem = p.file === file ? p : { ...p, reason: p.reason.replace(/^run folder [^:]*:/, `run folder ${folder.dir}:`), file };
      }
      if (problem) {
        failed.push({ folder, problem });
        continue;
      }
      byFolder.set(folder.rel, {
        neuronPath: folder.neuronParam!, networkPath: folder.networkParam!,
        neuronHash: hashes[0]!, networkHash: hashes[1]!,
      });
    }
  }
  const missingList = [...missing.values()];
  if (!recordFailures && failed.length > 0) {
    const first = failed[0]!.problem;
    throw new InputProblemError(missingList.length === 0 ? first : { ...first, reason: `${first.reason}. ${describeMissing(missingList)}` });
  }
  return { byFolder, unique, failed, missing: missingList, pathMap };
}

/** Parse one unique parameter file and check every file it names; null when it is usable. */
async function checkParamFile(
  file: string, bytes: Uint8Array, which: 'neuron' | 'network', folder: RunFolder, pathMap: PathMap,
  unique: Map<string, UniqueParam>, hash: string, missing: Map<string, MissingReference>,
): Promise<InputProblem | null> {
  const text = new TextDecoder().decode(bytes);
  try {
    const spans: StringSpans = new Map();
    const value = parsePyLiteral(text, spans);
    const refs: UniqueParam['refs'] = [];
    const absent: { ref: ParamReference; abs: string }[] = [];
    for (const ref of findReferences(value, which)) {
      const mapped = mapPath(ref.path, pathMap);
      const abs = path.isAbsolute(mapped) ? mapped : path.resolve(path.dirname(file), mapped);
      if (await exists(abs)) refs.push({ ...ref, abs });
      else if (!absent.some((a) => a.abs === abs)) {
        absent.push({ ref, abs });
        if (!missing.has(abs)) missing.set(abs, { path: abs, paramFile: file });
      }
    }
    if (absent.length > 0) {
      const first = absent[0]!;
      const named = first.abs === first.ref.path ? first.ref.path : `${first.ref.path} (looked for at ${first.abs})`;
      const more = absent.length > 1 ? ` and ${absent.length - 1} more` : '';
      const reason = `run folder ${folder.dir}: the ${which} parameter file references ${named}${more}, which does not exist`;
      const line = lineOf(text, first.ref.path);
      return line === undefined ? { file, reason } : { file, line, reason };
    }
    unique.set(hash, { which, file, text, spans, value, refs });
    return null;
  } catch (e) {
    if (!(e instanceof ParamSyntaxError)) throw e;
    return { file, line: e.line, reason: `run folder ${folder.dir}: cannot parse the ${which} parameter file: ${e.reason}` };
  }
}

export interface ManagedFolders {
  parameterfiles_cell_folder: string;
  parameterfiles_network_folder: string;
  morphology: string;
  syn_folder: string;
  con_folder: string;
  recsites_folder: string;
}

/** Write a file through a temporary name, so that a reader never sees half of it. */
async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function atomicCopy(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${process.pid}`;
  await copyFile(from, tmp);
  await rename(tmp, to);
}

/**
 * Copy the unique parameter files and their referenced files into the managed folders.
 * Files are content-addressed, so a re-run completes an interrupted copy.
 */
export async function copyParams(scan: ParamScan, dirs: ManagedFolders): Promise<{ files: number }> {
  let files = 0;
  const placed = new Map<string, string>(); // abs source -> reldb path
  const place = async (abs: string, kind: ParamReference['kind']): Promise<string> => {
    const known = placed.get(abs);
    if (known !== undefined) return known;
    const bytes = await readFile(abs);
    const hash = md5(bytes);
    const base = path.basename(abs);
    let rel: string;
    if (kind === 'morphology' || kind === 'recsites') {
      const key = kind === 'morphology' ? 'morphology' : 'recsites_folder';
      let name = base;
      const target = path.join(dirs[key], name);
      const there = await readFile(target).catch(() => undefined);
      if (there !== undefined && md5(there) !== hash) name = `${hash}_${base}`; // same name, other content
      const dest = path.join(dirs[key], name);
      if (!(await exists(dest))) { await atomicCopy(abs, dest); files++; }
      rel = `reldb://${key}/${name}`;
    } else {
      const key = kind === 'syn' ? 'syn_folder' : 'con_folder';
      const dir = path.join(dirs[key], hash);
      await mkdir(dir, { recursive: true });
      const dest = path.join(dir, base);
      const lines = new TextDecoder().decode(bytes).split('\n');
      // the second line names the file this one belongs to (.syn -> .hoc, .con -> .syn)
      if (lines.length > 1) {
        const second = lines[1]!;
        // '# corresponding to cell: /path/x.hoc' or '# /path/x.syn' (paths may hold spaces)
        const m = /^(#?\s*(?:[^:/]*:\s*)?)(.*\.(hoc|syn))\s*$/.exec(second);
        if (m) {
          const named = mapPath(m[2]!, scan.pathMap);
          const namedAbs = path.isAbsolute(named) ? named : path.resolve(path.dirname(abs), named);
          if (await exists(namedAbs)) {
            const target = await place(namedAbs, m[3] === 'hoc' ? 'morphology' : 'syn');
            lines[1] = m[1]! + target;
          }
        }
      }
      if (!(await exists(dest))) { await atomicWrite(dest, lines.join('\n')); files++; }
      rel = `reldb://${key}/${hash}/${base}`;
    }
    placed.set(abs, rel);
    return rel;
  };
  for (const [hash, p] of scan.unique) {
    const replacements: { at: (string | number)[]; value: string }[] = [];
    for (const ref of p.refs) replacements.push({ at: ref.at, value: await place(ref.abs, ref.kind) });
    const dir = p.which === 'neuron' ? dirs.parameterfiles_cell_folder : dirs.parameterfiles_network_folder;
    const dest = path.join(dir, `${hash}.param`);
    // the original text with only the paths replaced: comments, layout and number spellings stay
    if (!(await exists(dest))) { await atomicWrite(dest, replaceStrings(p.text, p.spans, replacements)); files++; }
  }
  return { files };
}
