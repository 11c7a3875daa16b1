/** Managed folders: the key folder itself is handed to the user, who writes files into it. */
import type { Loader } from './types.js';

export const loader: Loader<undefined> = {
  name: 'just_create_folder',
  kind: 'folder',
  canDump: () => false,
  async dump() {
    // Nothing to write: the folder is the value.
  },
  async load(dir) {
    return dir;
  },
};
