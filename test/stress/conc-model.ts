/** The concurrency harness's keys, shared by the writer/reader children and the checker. */
export const CONC_DATA_KEYS: string[][] = [['c0'], ['c1'], ['c2'], ['c3'], ['g0', 'y0'], ['g0', 'y1'], ['g1', 'y0'], ['g1', 'h', 'z0']];
export const CONC_SUBDBS: string[][] = [['g0'], ['g1'], ['g1', 'h']];

export interface ConcRecord {
  w: number;
  n: number;
  op: 'set' | 'setMany' | 'delete' | 'createSubDb';
  key: string[];
  spec?: { kind: 'npy' | 'msgpack' | 'parquet'; id: number; bytes: number };
  /** setMany's keys and values (`key` is then the first one's); on failure, some of them may have been written. */
  entries?: Array<{ key: string[]; spec: { kind: 'npy' | 'msgpack' | 'parquet'; id: number; bytes: number } }>;
  ok: boolean;
  tag?: string;
  untyped?: string;
}

export interface ReaderSummary {
  reads: number;
  valuesSeen: number;
  notFound: number;
  /** Typed errors other than not-found on keys being swapped or deleted at that moment. */
  transientErrors: number;
  transientSamples: string[];
  torn: number;
  tornSamples: string[];
  untyped: number;
  untypedSamples: string[];
  lockDirsCreated: number;
}
