// Colour only for a person at a terminal: never when the stream is not a TTY, never when NO_COLOR is set (no-color.org).

export interface Palette {
  enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

export function colorEnabled(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function palette(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): Palette {
  const enabled = colorEnabled(stream, env);
  if (!enabled) return { enabled, red: plain, green: plain, yellow: plain, bold: plain, dim: plain };
  return { enabled, red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
}

/** Removes SGR colour codes, for width calculations and tests. */
export function stripColor(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
