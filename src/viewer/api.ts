/** The server's JSON API (the token, when there is one, travels as the cookie the server set). */
export interface TreeNode {
  name: string; key: string[]; loader: string; size: number; time: string | null;
  partitions: number | null; rows: number | null; columns: number | null; error?: string; children?: TreeNode[];
}
export interface KeyDetails {
  key: string[]; loader: string; metadata: Record<string, unknown>;
  files: Array<{ path: string; size: number }>;
  /** rows is null until the server has counted them (GET /api/shape waits for it). */
  shape: { partitions: number; rows: number | null; columns: number } | null;
  code: { typescript: string; python: string };
  view: 'traces' | 'spikes' | 'table' | null;
  columnLabels: Array<string | number> | null;
}
export interface VersionInfo {
  version: number | 'current'; current: boolean; time: string | null; gitCommit: string | null; gitVersion: string | null;
  dirty: boolean | null; loader: string; size: number; checksum: string | null; recipe: string | null;
}
export interface HistoryAnswer {
  versions: VersionInfo[];
  diff?: { fields: Array<{ field: string; a: unknown; b: unknown }>; contentChanged: boolean };
}
export interface LineageNode { key: string[]; inputs: string[][]; stale: Array<{ input: string[]; kind: string; message: string }> }
export interface TraceView { times: number[]; traces: Array<{ id: string | number; y: Array<number | null> }>; selected: number; shown: number; points: number; decimated: boolean }
export interface SpikeView { trials: Array<{ id: string | number; times: number[] }>; selected: number; psth: { binSize: number; borders: number[]; counts: number[] } | null }
export interface FrameAnswer { index: Array<string | number>; positions: number[]; columns: string[]; data: unknown[][]; totalColumns: number; indexName: string }

export class ApiError extends Error {}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, String(value));
  const query = search.toString();
  const response = await fetch(`${path}${query ? `?${query}` : ''}`, { credentials: 'same-origin' });
  const body = await response.json().catch(() => ({ error: response.statusText })) as T & { error?: string };
  if (!response.ok) throw new ApiError(body.error ?? `${response.status}`);
  return body;
}

export const keyParam = (key: string[]): string => key.join('/');
