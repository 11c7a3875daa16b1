/** How many jobs a queue worker with --batch auto holds (src/runs/queue.ts). */
import { describe, expect, it } from 'vitest';
import { AUTO_HOLD_MS, AUTO_MAX_HELD, AutoHold } from '../../src/runs/queue.js';

describe('queue workers with --batch auto', () => {
  it('hold one job per slot until a compute time is known, then about AUTO_HOLD_MS of computing, between 1 and AUTO_MAX_HELD per slot', () => {
    const one = new AutoHold(1);
    expect(one.held()).toBe(1);
    expect(one.observe(10)).toBe(AUTO_MAX_HELD); // 10 ms records: 50 would be 0.5 s, capped
    expect(new AutoHold(1).observe(AUTO_HOLD_MS / 5)).toBe(5);
    expect(new AutoHold(1).observe(AUTO_HOLD_MS * 4)).toBe(1); // long records: never kept waiting behind another
    expect(new AutoHold(1).observe(0)).toBe(AUTO_MAX_HELD);
    expect(new AutoHold(3).observe(AUTO_HOLD_MS / 2)).toBe(6); // per compute slot
  });

  it('follow a running mean: one long record among short ones does not drop the hold to one', () => {
    const hold = new AutoHold(1);
    for (let i = 0; i < 20; i++) hold.observe(50);
    expect(hold.held()).toBe(10);
    expect(hold.observe(1000)).toBe(2); // mean 0.8 * 50 + 0.2 * 1000 = 240 ms
    for (let i = 0; i < 20; i++) hold.observe(50);
    expect(hold.held()).toBe(10);
  });
});
