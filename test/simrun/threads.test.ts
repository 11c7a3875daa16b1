import { describe, expect, it } from 'vitest';
import { BYTES_PER_WORKER, PARSE_AHEAD_BYTES, defaultThreads, parseThreadChoice, parseThreadWindow, workersPaidBySize } from '../../initializers/simrun/threads.js';

const MB = 1e6;

describe('default parsing threads', () => {
  it('a worker only where a core is idle and the campaign pays for its start-up', () => {
    // ISF's example campaign (54 MB) on an idle 2-core machine: the main thread alone
    expect(defaultThreads(2, 0.1, 54 * MB)).toMatchObject({ workers: 0, reason: expect.stringContaining('54 MB of CSV') });
    // the 875 MB wide campaign on the same machine: one worker beside the main thread
    expect(defaultThreads(2, 0.1, 875 * MB)).toEqual({ workers: 1 });
    // a busy machine: the main thread alone, whatever the size, and the reason says the load
    expect(defaultThreads(2, 2.3, 875 * MB)).toMatchObject({ workers: 0, reason: expect.stringContaining('load average 2.3') });
    // many idle cores: as many workers as the size pays for
    expect(defaultThreads(8, 0, 100 * MB)).toMatchObject({ workers: 1, reason: expect.stringContaining('100 MB') });
    expect(defaultThreads(8, 0, 300 * MB)).toMatchObject({ workers: 2 });
    expect(defaultThreads(8, 0, 10_000 * MB)).toEqual({ workers: 7 });
    expect(defaultThreads(1, 0, 10_000 * MB)).toEqual({ workers: 0 });
  });
  it('a parse thread where fewer than two full workers pay, on 2+ cores, whatever the load', () => {
    expect(parseThreadChoice(2, defaultThreads(2, 0.1, 54 * MB))).toMatchObject({ workers: 0, reason: expect.stringMatching(/^a parse thread beside the main thread, which encodes: 54 MB of CSV/) });
    expect(parseThreadChoice(2, defaultThreads(2, 0.1, 875 * MB))).toMatchObject({ workers: 0, reason: expect.stringContaining('one full worker thread') });
    expect(parseThreadChoice(2, defaultThreads(2, 2.3, 875 * MB))).toMatchObject({ workers: 0, reason: expect.stringContaining('load average 2.3') });
    expect(parseThreadChoice(8, defaultThreads(8, 0, 300 * MB))).toBeUndefined();
    expect(parseThreadChoice(1, defaultThreads(1, 0, 10 * MB))).toBeUndefined();
  });
  it('the k-th worker needs BYTES_PER_WORKER x k(k+1)/2', () => {
    expect(workersPaidBySize(BYTES_PER_WORKER - 1)).toBe(0);
    expect(workersPaidBySize(BYTES_PER_WORKER)).toBe(1);
    expect(workersPaidBySize(3 * BYTES_PER_WORKER - 1)).toBe(1);
    expect(workersPaidBySize(3 * BYTES_PER_WORKER)).toBe(2);
    expect(workersPaidBySize(6 * BYTES_PER_WORKER)).toBe(3);
    expect(workersPaidBySize(1e15)).toBe(7);
  });
  it("a parse thread's window: the folders that fit PARSE_AHEAD_BYTES of CSV, 3 to 6", () => {
    // ISF's example shape: 5.2 MB run folders
    expect(parseThreadWindow([5.2 * MB, 5.1 * MB, 5.3 * MB])).toBe(6);
    // the wide shape: 22 MB folders
    expect(parseThreadWindow([22 * MB, 22 * MB])).toBe(4);
    // the largest folder counts, and huge folders keep the old 3
    expect(parseThreadWindow([1 * MB, PARSE_AHEAD_BYTES / 3 - 1])).toBe(3);
    expect(parseThreadWindow([500 * MB])).toBe(3);
    expect(parseThreadWindow([])).toBe(6);
    // more run folders than a call takes arguments (Math.max(...) overflowed the stack here)
    const many = new Array<number>(400_000).fill(0.2 * MB);
    many[399_999] = PARSE_AHEAD_BYTES / 5;
    expect(parseThreadWindow(many)).toBe(5);
  });
});
