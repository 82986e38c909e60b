// What drain-reboot tells the outside about each node: a JSON webhook per node step (--notify-url; Kured's
// --notify-url sends a chat message at drain and reboot through shoutrrr, we send one JSON document a receiver can
// parse), Kured's --pre-reboot-node-labels / --post-reboot-node-labels (added before cordoning / after uncordoning,
// kured pkg/kubernetes: "Labels added before cordoning", "Labels added after uncordoning"), and the node annotations of
// the last reboot by us (Kured's --annotate-nodes writes weave.works/kured-most-recent-reboot-needed and
// kured-reboot-in-progress; ours record when, which operation, and the boot ID the node came back with).

export type NotifyEvent = 'start' | 'rebooted' | 'done' | 'stopped';

export interface NotifyMessage {
  event: NotifyEvent;
  node: string;
  operationId: string;
  time: string;
  bootIdBefore?: string;
  bootIdAfter?: string;
  /** rebooted, drained (--no-reboot), not-needed, not-rebooted, failed, interrupted */
  result?: string;
  message?: string;
}

export const LAST_REBOOT_TIME_ANNOTATION = 'redis.kubectl.io/last-reboot-time';
export const LAST_REBOOT_OPERATION_ANNOTATION = 'redis.kubectl.io/last-reboot-operation';
export const LAST_REBOOT_BOOT_ID_ANNOTATION = 'redis.kubectl.io/last-reboot-boot-id';

/** The merge patch of the last-reboot annotations. */
export function lastRebootPatch(time: string, operationId: string, bootId: string | undefined): Record<string, unknown> {
  return {
    metadata: {
      annotations: { [LAST_REBOOT_TIME_ANNOTATION]: time, [LAST_REBOOT_OPERATION_ANNOTATION]: operationId, [LAST_REBOOT_BOOT_ID_ANNOTATION]: bootId ?? null },
    },
  };
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** 'k=v' words (repeated, or comma-separated as Kured's StringSlice flags take them) -> labels; throws a sentence. */
export function parseNodeLabels(words: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of words.flatMap((w) => w.split(',')).map((w) => w.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--${flag} takes key=value labels, not "${item}"`);
    const [k, v] = [item.slice(0, eq), item.slice(eq + 1)];
    if (!LABEL_KEY.test(k) || k.length > 316) throw new Error(`--${flag}: "${k}" is not a valid label key`);
    if (!LABEL_VALUE.test(v)) throw new Error(`--${flag}: "${v}" is not a valid label value (63 characters at most: letters, digits, - _ .)`);
    out[k] = v;
  }
  return out;
}

/** POSTs one message; resolves with an error sentence instead of throwing (a webhook never stops a reboot). */
export async function postNotification(url: string, msg: NotifyMessage, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(msg), signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `--notify-url answered HTTP ${res.status} to the ${msg.event} message of ${msg.node}`;
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return `--notify-url could not be reached for the ${msg.event} message of ${msg.node}: ${cause?.code ?? (e as Error).message}`;
  }
}
