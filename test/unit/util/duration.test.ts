import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatAge, formatDuration, parseDuration } from '../../../src/util/duration.js';
import { UsageError } from '../../../src/errors.js';

test('parseDuration reads the forms kubectl users type', () => {
  const cases: Array<[string, number]> = [
    ['30s', 30_000], ['10m', 600_000], ['2h', 7_200_000], ['1h30m', 5_400_000], ['500ms', 500], ['1d', 86_400_000],
    ['90', 90_000], ['1.5h', 5_400_000], ['2m30s', 150_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration refuses what is not a duration, naming the flag', () => {
  for (const bad of ['', 'soon', '2 hours', '1x', 'h', '10m!', '-5s']) {
    assert.throws(() => parseDuration(bad, 'for'), (e: unknown) => e instanceof UsageError && /--for .* is not a duration/.test(e.message), bad);
  }
});

test('formatDuration and parseDuration round-trip whole seconds', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10 * 86400 }), (sec) => parseDuration(formatDuration(sec * 1000)) === sec * 1000));
});

test('formatAge follows kubectl get', () => {
  const now = Date.parse('2026-01-10T00:00:00Z');
  const cases: Array<[number, string]> = [[5, '5s'], [119, '119s'], [150, '2m30s'], [600, '10m'], [3 * 3600 + 60, '3h1m'], [10 * 3600, '10h'], [50 * 3600, '2d2h'], [30 * 86400, '30d']];
  for (const [ago, want] of cases) assert.equal(formatAge(now - ago * 1000, now), want, String(ago));
});
