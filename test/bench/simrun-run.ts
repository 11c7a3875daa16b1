/** Run only the simrun benchmark: node dist/test/bench/simrun-run.js [--quick] [--shape=isf|wide] */
import { benchSimrun } from './simrun.js';

const shape = process.argv.find((a) => a.startsWith('--shape='))?.slice('--shape='.length);
await benchSimrun({ quick: process.argv.includes('--quick'), ...(shape === 'isf' || shape === 'wide' ? { shapes: [shape] } : {}) });
