// Images the sandbox cannot run as such (busybox, alpine, exporters...): their command/args run on the host with
// mount paths translated, when the program exists here; otherwise an idle process keeps the container "running".
// The operators' images are inert (their logic runs inside the sandbox process). A privileged pod running
// `nsenter ... reboot` reboots its node through the kubelet, as it would reboot a real node; any other command a
// privileged hostPID pod runs through `nsenter -t 1 -m ... -- CMD` (Kured's sentinel command, util-linux nsenter(1):
// enter PID 1's mount namespace) runs on this machine with the node's host filesystem standing for `/`: every
// top-level directory of the node root is mounted at its path, so /var/run/reboot-required is the node's file
// while /usr/bin/test is this machine's program.
import { accessSync, constants, readdirSync } from 'node:fs';
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

/** `nsenter -t 1 -m [...] -- CMD...` (or -m/proc/1/ns/mnt): CMD, else undefined. */
export function hostMountCommand(argv: string[]): string[] | undefined {
  if (!/(^|\/)nsenter$/.test(argv[0] ?? '')) return undefined;
  const dash = argv.indexOf('--');
  const opts = argv.slice(1, dash < 0 ? undefined : dash);
  const pid1 = opts.some((o, i) => (o === '-t' && opts[i + 1] === '1') || o === '--target=1' || o === '-t1' || o.startsWith('-m/proc/1/') || o.startsWith('--mount=/proc/1/'));
  const mnt = opts.some((o) => o === '-m' || o === '--mount' || o.startsWith('-m/proc/1/') || o.startsWith('--mount=/proc/1/'));
  const rest = dash < 0 ? argv.slice(1).filter((w) => !w.startsWith('-') && w !== '1') : argv.slice(dash + 1);
  return pid1 && mnt && rest.length > 0 ? rest : undefined;
}

function isPrivilegedHostPid(input: ImageInput): boolean {
  const spec = (input.pod.spec ?? {}) as { hostPID?: boolean };
  const sc = (input.container as { securityContext?: { privileged?: boolean } }).securityContext;
  return spec.hostPID === true && sc?.privileged === true;
}

export function planGeneric(input: ImageInput): ContainerPlan {
  const argv = [...(input.command ?? []), ...(input.args ?? [])];
  if (isRebootCommand(argv)) return { argv: IDLE, rebootNode: true };
  const onHost = input.nodeRoot && isPrivilegedHostPid(input) ? hostMountCommand(argv) : undefined;
  if (onHost && input.nodeRoot) {
    const root = input.nodeRoot;
    const mounts = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => ({ path: `/${d.name}`, host: join(root, d.name), readOnly: false, kind: 'hostPath' }));
    const translated = onHost.map((w) => translateWord(mounts, w));
    const found = onHostPath(translated[0]);
    if (!found) {
      input.log(`${onHost[0]}: not on this machine; the container idles instead`);
      return { argv: IDLE };
    }
    return { argv: [found, ...translated.slice(1)] };
  }
  if (isOperatorImage(input.container.image ?? '') || argv.length === 0) return { argv: IDLE };
  const translated = argv.map((w) => translateWord(input.mounts, w));
  const found = onHostPath(translated[0]) ?? (isAbsolute(translated[0]) ? onHostPath(translated[0].split('/').pop() ?? '') : undefined);
  if (!found) {
    input.log(`${argv[0]}: not on this machine; the container idles instead`);
    return { argv: IDLE };
  }
  return { argv: [found, ...translated.slice(1)] };
}
