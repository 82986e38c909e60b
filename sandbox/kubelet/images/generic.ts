// Images the sandbox cannot run as such (busybox, alpine, exporters...): their command/args run on the host with
// mount paths translated, when the program exists here; otherwise an idle process keeps the container "running".
// The operators' images are inert (their logic runs inside the sandbox process). A privileged pod running
// `nsenter ... reboot` reboots its node through the kubelet, as it would reboot a real node.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ContainerPlan, ImageInput } from './types.js';
import { translateWord } from '../volumes.js';

export const IDLE = ['sleep', 'infinity'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onHostPath(cmd: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  if (isAbsolute(cmd)) return executable(cmd) ? cmd : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir && executable(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** An operator's image (the mini operators run inside the sandbox process; their pods only idle). */
export function isOperatorImage(image: string): boolean {
  const name = image.toLowerCase().split('@')[0].replace(/:[^/:]*$/, '');
  return /^(docker\.io\/)?sandbox\/operator/.test(name) || /operator$/.test(name.split('/').pop() ?? '');
}

export function isRebootCommand(argv: string[]): boolean {
  const text = argv.join(' ');
  return /\bnsenter\b/.test(text) && /(^|[\s/])(reboot|systemctl\s+reboot)(\s|$)/.test(text);
}

export function planGeneric(input: ImageInput): ContainerPlan {
  const argv = [...(input.command ?? []), ...(input.args ?? [])];
  if (isRebootCommand(argv)) return { argv: IDLE, rebootNode: true };
  if (isOperatorImage(input.container.image ?? '') || argv.length === 0) return { argv: IDLE };
  const translated = argv.map((w) => translateWord(input.mounts, w));
  const found = onHostPath(translated[0]) ?? (isAbsolute(translated[0]) ? onHostPath(translated[0].split('/').pop() ?? '') : undefined);
  if (!found) {
    input.log(`${argv[0]}: not on this machine; the container idles instead`);
    return { argv: IDLE };
  }
  return { argv: [found, ...translated.slice(1)] };
}
