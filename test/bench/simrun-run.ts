/** Run only the simrun benchmark: node dist/test/bench/simrun-run.js [--quick] */
import { benchSimrun } from './simrun.js';

await benchSimrun({ quick: process.argv.includes('--quick') });
