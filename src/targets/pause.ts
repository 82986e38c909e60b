// How an operator pauses reconciliation, and what a pause looks like on an object: adapter vocabulary, so it lives
// with the adapters. reconcile/pause.ts plans pause and resume from it.

export type PauseMechanism =
  | { type: 'annotation'; key: string; value: string; presenceOnly: boolean }
  | { type: 'none'; why: string; fallback: 'scale-operator' | 'nothing-to-pause' };

/** Our own audit annotations (the keys are AUDIT_KEYS in ./common.ts). */
export interface AuditKeys {
  by: string;
  at: string;
  reason: string;
  until: string;
  operatorReplicas: string;
}

/** What observe reports of a target's pause. */
export interface PauseFact {
  paused: boolean;
  /** the operator's own key, when it has one */
  key?: string;
  value?: string;
  by?: string;
  at?: string;
  reason?: string;
  until?: string;
  strategy: 'annotation' | 'operator-scale-down' | 'none';
}

/** What a pause looks like on the object: ours (audit keys) and the operator's own key. */
export function pauseState(annotations: Record<string, string>, mechanism: PauseMechanism, audit: AuditKeys): PauseFact {
  const by = annotations[audit.by];
  const fact: PauseFact = { paused: false, strategy: mechanism.type === 'annotation' ? 'annotation' : 'none' };
  if (mechanism.type === 'annotation') {
    const v = annotations[mechanism.key];
    fact.key = mechanism.key;
    if (v !== undefined) fact.value = v;
    fact.paused = mechanism.presenceOnly ? v !== undefined : v === mechanism.value;
  }
  if (annotations[audit.operatorReplicas] !== undefined) {
    fact.strategy = 'operator-scale-down';
    fact.paused = true;
  }
  if (by !== undefined) fact.by = by;
  if (annotations[audit.at] !== undefined) fact.at = annotations[audit.at];
  if (annotations[audit.reason] !== undefined) fact.reason = annotations[audit.reason];
  if (annotations[audit.until] !== undefined) fact.until = annotations[audit.until];
  return fact;
}
