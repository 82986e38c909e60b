import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapPool, withTimeout } from '../../../src/util/pool.js';

test('mapPool keeps order and never exceeds its limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, n * 3));
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);
  assert.deepEqual(await mapPool([], 4, async () => 1), []);
});

test('withTimeout rejects with the given error when the promise is late', async () => {
  await assert.rejects(withTimeout(new Promise(() => {}), 20, () => new Error('late')), /late/);
  assert.equal(await withTimeout(Promise.resolve(7), 20, () => new Error('late')), 7);
});
