// --window's parser and clock (src/workflows/drain-reboot/window.ts): tables of what parses and what does not,
// instants inside and outside across time zones and DST, and fast-check properties (describe/parse round trip,
// a window and its complement cover every instant exactly once, nextOpening is open and nothing before it is).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeWindow, inWindow, nextOpening, parseWindow, windowLength, WindowSyntaxError, type RebootWindow } from '../../../src/workflows/drain-reboot/window.js';

test('windows that parse', () => {
  const cases: Array<[string, Partial<RebootWindow>]> = [
    ['Mon-Fri 01:00-05:00 Europe/Berlin', { days: [1, 2, 3, 4, 5], start: 3600, end: 5 * 3600, timeZone: 'Europe/Berlin' }],
    ['sat,sun 22:00-04:00', { days: [0, 6], start: 22 * 3600, end: 4 * 3600, timeZone: 'UTC' }],
    ['* 00:00-24:00 UTC', { days: [0, 1, 2, 3, 4, 5, 6], start: 0, end: 86400 }],
    ['Fri-Mon 23:30:15-23:45 America/New_York', { days: [0, 1, 5, 6], start: 23 * 3600 + 30 * 60 + 15, end: 23 * 3600 + 45 * 60 }],
    ['wednesday 9:05-10:00 Asia/Kolkata', { days: [3], start: 9 * 3600 + 300, end: 10 * 3600 }],
    ['  Tu,Th   02:00-03:00  ', { days: [2, 4], timeZone: 'UTC' }],
  ];
  for (const [text, want] of cases) {
    const w = parseWindow(text);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(w[k as keyof RebootWindow], v, `${text}: ${k}`);
  }
});

test('windows that do not parse say which part is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /is not DAYS START-END/],
    ['Mon-Fri', /is not DAYS START-END/],
    ['Mon-Fri 01:00-05:00 Europe/Berlin extra', /is not DAYS START-END/],
    ['Funday 01:00-05:00', /"Funday" is not a day of the week/],
    ['M 01:00-05:00', /"M" is not a day/],
    ['Mon-Fri-Sat 01:00-05:00', /is not a day or a range/],
    ['Mon,,Fri 01:00-05:00', /empty day/],
    ['Mon 1-5', /start time "1" is not HH:MM/],
    ['Mon 01:00', /is not START-END/],
    ['Mon 25:00-26:00', /start time "25:00" is not a time of day/],
    ['Mon 01:60-02:00', /not a time of day/],
    ['Mon 24:00-01:00', /cannot be 24:00/],
    ['Mon 03:00-03:00', /is empty/],
    ['Mon 03:00:00-03:00:59', /shorter than a minute/],
    ['Mon 01:00-05:00 Mars/Olympus', /"Mars\/Olympus" is not a time zone/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseWindow(text), (e: unknown) => e instanceof WindowSyntaxError && re.test(e.message), text);
  }
});

test('inside and outside, in the window\'s own time zone (DST included)', () => {
  const berlin = parseWindow('Mon-Fri 01:00-05:00 Europe/Berlin');
  const cases: Array<[string, boolean]> = [
    ['2026-12-03T00:00:00Z', true], // Thu 01:00 CET: the start is inside
    ['2026-12-02T23:59:59Z', false], // Thu 00:59:59 CET
    ['2026-12-03T03:59:59Z', true], // Thu 04:59:59 CET
    ['2026-12-03T04:00:00Z', false], // Thu 05:00 CET: the end is outside
    ['2026-12-05T00:30:00Z', false], // Sat 01:30 CET
    ['2026-07-01T23:30:00Z', true], // Thu 01:30 CEST (UTC+2)
    ['2026-07-02T03:30:00Z', false], // Thu 05:30 CEST
  ];
  for (const [at, want] of cases) assert.equal(inWindow(berlin, Date.parse(at)), want, at);

  const night = parseWindow('Sat 22:00-04:00 UTC');
  assert.equal(inWindow(night, Date.parse('2026-12-05T23:00:00Z')), true, 'Saturday evening');
  assert.equal(inWindow(night, Date.parse('2026-12-06T03:00:00Z')), true, 'the Sunday morning after');
  assert.equal(inWindow(night, Date.parse('2026-12-06T23:00:00Z')), false, 'Sunday evening');
  assert.equal(inWindow(night, Date.parse('2026-12-05T03:00:00Z')), false, 'Saturday morning (after Friday)');
});

test('nextOpening finds the next start, to the second', () => {
  const berlin = parseWindow('Mon-Fri 01:00-05:00 Europe/Berlin');
  assert.equal(nextOpening(berlin, Date.parse('2026-12-04T12:00:00Z')), Date.parse('2026-12-07T00:00:00Z'), 'Friday noon -> Monday 01:00 CET');
  const inside = Date.parse('2026-12-03T01:00:00Z');
  assert.equal(nextOpening(berlin, inside), inside);
});

const arbWindow = fc
  .record({
    days: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }),
    start: fc.integer({ min: 0, max: 86399 }),
    end: fc.integer({ min: 1, max: 86400 }),
    timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'),
  })
  .filter((w) => w.start !== w.end && windowLength(w.start, w.end) >= 60)
  .map((w): RebootWindow => ({ ...w, days: [...w.days].sort((a, b) => a - b) }));
const arbInstant = fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') });

test('property: describeWindow is read back by parseWindow as the same window', () => {
  fc.assert(fc.property(arbWindow, (w) => assert.deepEqual(parseWindow(describeWindow(w)), w)));
});

test('property: every day, [a,b) and [b,a) together hold every instant exactly once', () => {
  fc.assert(
    fc.property(arbWindow, arbInstant, (w, t) => {
      if (w.end === 86400) return;
      const all = { ...w, days: [0, 1, 2, 3, 4, 5, 6] };
      const complement = { ...all, start: w.end, end: w.start };
      assert.notEqual(inWindow(all, t), inWindow(complement, t));
    }),
  );
});

test('property: nextOpening is open, and one second before it was closed (unless it is now)', () => {
  fc.assert(
    fc.property(arbWindow, arbInstant, (w, t) => {
      const at = nextOpening(w, t);
      assert.ok(at !== undefined, 'a window with a day opens within 8 days');
      assert.ok(at >= t && inWindow(w, at));
      if (at !== t) assert.equal(inWindow(w, at - 1000), false);
    }),
    { numRuns: 60 },
  );
});
