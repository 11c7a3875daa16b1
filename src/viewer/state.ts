/** The view's state lives in the URL (shareable): key, tab, trial selection, time window, search. */
export interface ViewState {
  key?: string | undefined;
  tab?: string | undefined;
  ids?: string | undefined;
  where?: string | undefined;
  start?: string | undefined;
  t0?: string | undefined;
  t1?: string | undefined;
  q?: string | undefined;
  bin?: string | undefined;
}

const FIELDS: Array<keyof ViewState> = ['key', 'tab', 'ids', 'where', 'start', 't0', 't1', 'q', 'bin'];

export function readState(): ViewState {
  const params = new URLSearchParams(location.search);
  const state: ViewState = {};
  for (const field of FIELDS) {
    const value = params.get(field);
    if (value !== null && value !== '') state[field] = value;
  }
  return state;
}

/** Merge `change` into the URL (the token, if the page was opened with one, is dropped: the cookie carries it). */
export function writeState(change: Partial<ViewState>, push = true): ViewState {
  const state = { ...readState(), ...change };
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const value = state[field];
    if (value !== undefined && value !== '') params.set(field, value);
  }
  const url = `${location.pathname}${params.toString() ? `?${params}` : ''}`;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  return state;
}
