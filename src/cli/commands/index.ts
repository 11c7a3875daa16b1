/** Every isfdb command, in the order `isfdb --help` lists them. */
import type { CliCommand } from '../command.js';
import { command as demo } from './demo.js';
import { command as diff } from './diff.js';
import { command as fsck } from './fsck.js';
import { command as genSimrun } from './gen-simrun.js';
import { command as history } from './history.js';
import { command as initSimrun } from './init-simrun.js';
import { command as ls } from './ls.js';
import { command as query } from './query.js';
import { command as registry } from './registry.js';
import { command as rm } from './rm.js';
import { command as serve } from './serve.js';
import { command as show } from './show.js';
import { command as stale } from './stale.js';
import { command as verify } from './verify.js';

export const COMMANDS: readonly CliCommand[] = [ls, show, query, rm, registry, history, diff, stale, initSimrun, genSimrun, verify, fsck, serve, demo];
