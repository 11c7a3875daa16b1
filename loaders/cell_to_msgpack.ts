/**
 * A simulated cell in ISF's serialised structure, stored portably as msgpack with typed arrays
 * (ISF's own `cell` loader pickles it, which only Python can read).
 */
import path from 'node:path';
import { z } from 'zod';
import { CorruptKeyError } from '../src/errors.js';
import { packValue, unpackValue } from './msgpack/codec.js';
import { readDataFile, writeDataFile } from './files.js';
import type { Loader } from './types.js';

const FILE = 'cell.msgpack';

const numbers = z.union([z.instanceof(Float64Array), z.instanceof(Float32Array), z.array(z.number())]);

const sectionSchema = z.looseObject({
  recVList: z.array(numbers),
  recordVars: z.record(z.string(), z.array(numbers)),
  label: z.string(),
  sec_id: z.number().int(),
  parent_id: z.number().int().nullable(),
});

const synapseSchema = z.looseObject({
  preCell: z.looseObject({ spikeTimes: numbers }),
  coordinates: numbers,
});

export const cellSchema = z.looseObject({
  tVec: numbers,
  parameters: z.record(z.string(), z.unknown()),
  sections: z.array(sectionSchema),
  synapses: z.record(z.string(), z.array(synapseSchema)),
  hoc: z.string(),
});

type NumberSeries = Float64Array | Float32Array | number[];

export interface CellSection {
  recVList: NumberSeries[];
  recordVars: Record<string, NumberSeries[]>;
  label: string;
  sec_id: number;
  parent_id: number | null;
  [extra: string]: unknown;
}

export interface CellSynapse {
  preCell: { spikeTimes: NumberSeries; [extra: string]: unknown };
  coordinates: NumberSeries;
  [extra: string]: unknown;
}

/** A simulated cell as ISF serialises it. */
export interface Cell {
  tVec: NumberSeries;
  parameters: Record<string, unknown>;
  sections: CellSection[];
  synapses: Record<string, CellSynapse[]>;
  hoc: string;
  [extra: string]: unknown;
}

export function isCell(value: unknown): value is Cell {
  return cellSchema.safeParse(value).success;
}

export const loader: Loader<Cell> = {
  name: 'cell_to_msgpack',
  canDump: isCell,
  async dump(value, dir, ctx) {
    const parsed = cellSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TypeError(`not a cell: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
    }
    writeDataFile(path.join(dir, FILE), packValue(value), ctx);
  },
  async load(dir, _loaderJson, ctx) {
    const file = path.join(dir, FILE);
    let value: unknown;
    try {
      value = unpackValue(readDataFile(file, ctx.key));
    } catch (err) {
      if (err instanceof CorruptKeyError) throw err;
      throw new CorruptKeyError(file, `is not valid msgpack (${(err as Error).message})`, ctx.key, { cause: err });
    }
    const parsed = cellSchema.safeParse(value);
    if (!parsed.success) throw new CorruptKeyError(file, `does not hold a cell: ${parsed.error.issues[0]?.message ?? ''}`, ctx.key);
    return value as Cell;
  },
};
