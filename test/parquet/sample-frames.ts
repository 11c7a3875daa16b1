/** Small frames shaped like simrun's keys, shared by the Parquet tests that hand them to Python. */
import { Table, makeVector, tableFromArrays, vectorFromArray, Utf8 } from 'apache-arrow';
import { withColumnLabelTypes, withIndex } from '../../loaders/parquet/frame.js';

/** Voltage traces: float column labels (time points), indexed by sim_trial_index; NaN where `nanAt` says. */
export function traces(ids: string[], offset: number, nanAt: (row: number, label: string) => boolean = (row, label) => row === 1 && label === '100.025'): Table {
  const columns: Record<string, ReturnType<typeof makeVector>> = { sim_trial_index: vectorFromArray(ids, new Utf8()) };
  for (const t of ['100.0', '100.025', '100.05']) {
    columns[t] = makeVector(Float64Array.from(ids, (_, i) => (nanAt(i, t) ? Number.NaN : -65 + offset + i + Number(t) / 1000)));
  }
  return withColumnLabelTypes(withIndex(new Table(columns), 'sim_trial_index'), { '100.0': 'float', '100.025': 'float', '100.05': 'float' });
}

/** Like simrun's activation partitions: tableFromArrays makes the string columns dictionaries. */
export function activations(ids: string[], types: string[]): Table {
  return withIndex(tableFromArrays({
    sim_trial_index: ids,
    synapse_type: types,
    synapse_ID: Int32Array.from(ids, (_, i) => i),
    '0': Float64Array.from(ids, (_, i) => (i % 2 ? Number.NaN : i * 1.5)),
  }), 'sim_trial_index');
}
