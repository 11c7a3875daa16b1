/**
 * `isf-data-base/query`: the filter dialect (BlueETL's `etl.q` plus notin, between, isnull) on
 * Arrow tables, stored keys and key metadata, and results collections unique by their params.
 *
 * @example
 * ```ts
 * import { q } from 'isf-data-base/query';
 * const late = q(table, { sim_trial_index: { regex: 'C2/' }, '0': { between: [100, 200] } });
 * const part = await db.query('voltage_traces', { sim_trial_index: { ge: 'a/000010', lt: 'a/000020' } }, { columns: ['100.0'] });
 * ```
 */
export { q } from './table.js';
export { normalizeWhere, OPERATORS } from './where.js';
export type { Where, WhereClause, Condition, Operators, Scalar, OperatorName } from './where.js';
export { queryStored, queryStoredParts, emptyStats } from './stored.js';
export type { QueryOptions, QueryStats } from './stored.js';
export { findKeys, FIND_FIELDS } from './find.js';
export type { FoundKey } from './find.js';
export { ResultsCollection } from './results.js';
export type { ResultEntry, AddOptions, Params } from './results.js';
export { matchRecords, flatten } from './records.js';
export { resultWriter, OUTPUT_FORMATS } from './output.js';
export type { OutputFormat, ResultWriter } from './output.js';
