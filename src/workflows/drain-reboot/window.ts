// The maintenance window of --window 'Mon-Fri 01:00-05:00 Europe/Berlin': days, start and end time of day, and an
// IANA time zone (Intl's, UTC when left out). Kured's pkg/timewindow (--reboot-days, --start-time, --end-time,
// --time-zone) in one flag: days by name or prefix ("mon", "monday"; ranges "mon-fri", lists "sat,sun", "*" = every
// day), times HH:MM or HH:MM:SS, the start inclusive and the end exclusive. Unlike Kured's, a window may cross
// midnight ('Sat 22:00-04:00' is Saturday 22:00 to Sunday 04:00): its days name the day it starts on.
// Pure: parse, describe, and "is this instant inside" / "when does it open next".

export interface RebootWindow {
  /** 0 = Sunday ... 6 = Saturday, sorted, unique */
  days: number[];
  /** seconds after local midnight; start < 86400, end <= 86400 */
  start: number;
  end: number;
  timeZone: string;
}

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const SHORT = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export class WindowSyntaxError extends Error {}

function parseDay(word: string): number {
  const w = word.toLowerCase();
  const i = w.length >= 2 ? DAY_NAMES.findIndex((d) => d.startsWith(w)) : -1;
  if (i < 0) throw new WindowSyntaxError(`"${word}" is not a day of the week (use Mon, Tue, ... or ranges like Mon-Fri)`);
  return i;
}

function parseDays(text: string): number[] {
  if (text === '*' || /^(daily|every-?day)$/i.test(text)) return [0, 1, 2, 3, 4, 5, 6];
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (!part) throw new WindowSyntaxError(`empty day in "${text}"`);
    const [a, b, extra] = part.split('-');
    if (extra !== undefined) throw new WindowSyntaxError(`"${part}" is not a day or a range of days`);
    const from = parseDay(a);
    if (b === undefined) {
      out.add(from);
      continue;
    }
    const to = parseDay(b);
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out].sort((x, y) => x - y);
}

function parseTime(text: string, what: string): number {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) throw new WindowSyntaxError(`${what} time "${text}" is not HH:MM or HH:MM:SS`);
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (min > 59 || s > 59 || h > 24 || (h === 24 && (min > 0 || s > 0))) throw new WindowSyntaxError(`${what} time "${text}" is not a time of day`);
  return h * 3600 + min * 60 + s;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** 'DAYS START-END [TIME-ZONE]'; throws WindowSyntaxError with the part that is wrong. */
export function parseWindow(text: string): RebootWindow {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length < 2 || words.length > 3) throw new WindowSyntaxError(`"${text}" is not DAYS START-END [TIME-ZONE], e.g. 'Mon-Fri 01:00-05:00 Europe/Berlin'`);
  const days = parseDays(words[0]);
  const times = words[1].split('-');
  if (times.length !== 2) throw new WindowSyntaxError(`"${words[1]}" is not START-END, e.g. 01:00-05:00`);
  const start = parseTime(times[0], 'start');
  const end = parseTime(times[1], 'end');
  if (start === 86400) throw new WindowSyntaxError('the start time cannot be 24:00');
  if (start === end) throw new WindowSyntaxError(`the window ${words[1]} is empty (start and end are the same)`);
  // (nextOpening looks minute by minute: a window shorter than that could be stepped over)
  if (windowLength(start, end) < 60) throw new WindowSyntaxError(`the window ${words[1]} is shorter than a minute`);
  const timeZone = words[2] ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new WindowSyntaxError(`"${timeZone}" is not a time zone (use an IANA name such as Europe/Berlin or UTC)`);
  return { days, start, end, timeZone };
}

/** Seconds from start to end (past midnight when end <= start). */
export function windowLength(start: number, end: number): number {
  return end > start ? end - start : end + 86400 - start;
}

const hhmm = (s: number) => {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}${sec ? `:${String(sec).padStart(2, '0')}` : ''}`;
};

function describeDays(days: number[]): string {
  if (days.length === 7) return '*';
  // runs of consecutive days as ranges (Mon-Fri), Sunday first
  const parts: string[] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j] + 1) j++;
    parts.push(j - i >= 2 ? `${SHORT[days[i]]}-${SHORT[days[j]]}` : days.slice(i, j + 1).map((d) => SHORT[d]).join(','));
    i = j + 1;
  }
  return parts.join(',');
}

/** The window in the syntax parseWindow reads. */
export function describeWindow(w: RebootWindow): string {
  return `${describeDays(w.days)} ${hhmm(w.start)}-${hhmm(w.end)} ${w.timeZone}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** Local weekday (0 = Sunday) and seconds after local midnight of an instant in a time zone. */
export function localTime(nowMs: number, timeZone: string): { day: number; seconds: number } {
  const parts = formatter(timeZone).formatToParts(new Date(nowMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '0';
  const day = SHORT.indexOf(get('weekday'));
  return { day, seconds: (Number(get('hour')) % 24) * 3600 + Number(get('minute')) * 60 + Number(get('second')) };
}

export function inWindow(w: RebootWindow, nowMs: number): boolean {
  const { day, seconds } = localTime(nowMs, w.timeZone);
  if (w.start < w.end) return w.days.includes(day) && seconds >= w.start && seconds < w.end;
  // crosses midnight: the evening of a listed day, or the morning after one
  return (w.days.includes(day) && seconds >= w.start) || (w.days.includes((day + 6) % 7) && seconds < w.end);
}

/** The next instant (to the second, within 8 days) at which the window is open; nowMs itself when it is. */
export function nextOpening(w: RebootWindow, nowMs: number): number | undefined {
  if (inWindow(w, nowMs)) return nowMs;
  const base = Math.ceil(nowMs / 1000) * 1000;
  // minute steps, then back to the exact second it opened
  for (let t = base; t < base + 8 * 86400_000; t += 60_000) {
    if (inWindow(w, t)) {
      let s = Math.max(base, t - 60_000);
      while (!inWindow(w, s)) s += 1000;
      return s;
    }
  }
  return undefined;
}
