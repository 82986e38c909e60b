// pause / resume as plans of annotation changes (and, where an operator has no pause key, an operator scale-down),
// decided purely from the object's annotations and the adapter's pause mechanism. The command prints every change
// as `old => new` (as CloudNativePG's `maintenance set` does), asks, and applies one merge patch.
import { RefusedError, UsageError } from '../errors.js';
import { formatAge } from '../util/duration.js';
import { pauseState, type AuditKeys, type PauseMechanism } from '../targets/pause.js';

export interface AnnotationChange {
  key: string;
  old: string | null;
  new: string | null;
}

export interface OperatorScale {
  /** namespace/name */
  deployment: string;
  from: number;
  to: number;
}

export interface PausePlan {
  changes: AnnotationChange[];
  operatorScale?: OperatorScale;
  warnings: string[];
}

export interface PauseRequest {
  object: string;
  annotations: Record<string, string>;
  mechanism: PauseMechanism;
  audit: AuditKeys;
  user: string;
  reason: string;
  now: Date;
  forMs?: number;
  force: boolean;
  operatorScaleDown: boolean;
  operator?: { deployment: string; replicas: number; running: boolean };
}

const change = (annotations: Record<string, string>, key: string, value: string | null): AnnotationChange[] => {
  const old = annotations[key] ?? null;
  return old === value ? [] : [{ key, old, new: value }];
};

export function planPause(req: PauseRequest): PausePlan {
  if (!req.reason.trim()) throw new UsageError('--reason is required: say why reconciliation is paused, so whoever finds it paused knows');
  const current = pauseState(req.annotations, req.mechanism, req.audit);
  if (current.paused && current.by && current.by !== req.user && !req.force) {
    const since = current.at ? ` ${formatAge(Date.parse(current.at), req.now.getTime())} ago` : '';
    throw new RefusedError(`${req.object} is already paused by ${current.by}${since} (${current.reason ?? 'no reason given'}); re-run with --force to take the pause over`);
  }
  const warnings: string[] = [];
  const plan: PausePlan = { changes: [], warnings };
  if (req.mechanism.type === 'annotation') {
    plan.changes.push(...change(req.annotations, req.mechanism.key, req.mechanism.value));
  } else if (req.mechanism.fallback === 'nothing-to-pause') {
    throw new RefusedError(`${req.object} has no operator reconciling it (${req.mechanism.why}), so there is nothing to pause`);
  } else if (!req.operatorScaleDown) {
    throw new RefusedError(`${req.mechanism.why}; re-run with --operator-scale-down to stop the operator itself (this pauses every resource it manages)`);
  } else {
    if (!req.operator) throw new RefusedError(`the operator of ${req.object} was not found, so it cannot be scaled down; is it installed in this cluster?`);
    const recorded = req.annotations[req.audit.operatorReplicas];
    const from = recorded !== undefined ? Number(recorded.split('=')[1]) : req.operator.replicas;
    plan.changes.push(...change(req.annotations, req.audit.operatorReplicas, `${req.operator.deployment}=${from}`));
    if (req.operator.replicas !== 0) plan.operatorScale = { deployment: req.operator.deployment, from: req.operator.replicas, to: 0 };
    warnings.push(`scaling ${req.operator.deployment} to 0 pauses every resource that operator manages, not only ${req.object}`);
  }
  const at = req.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  plan.changes.push(...change(req.annotations, req.audit.by, req.user));
  plan.changes.push(...change(req.annotations, req.audit.at, at));
  plan.changes.push(...change(req.annotations, req.audit.reason, req.reason.trim()));
  const until = req.forMs !== undefined ? new Date(req.now.getTime() + req.forMs).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
  plan.changes.push(...change(req.annotations, req.audit.until, until));
  return plan;
}

export interface ResumeRequest {
  object: string;
  annotations: Record<string, string>;
  mechanism: PauseMechanism;
  audit: AuditKeys;
  user: string;
  force: boolean;
  operator?: { deployment: string; replicas: number };
}

/** undefined when the object is not paused (resume then says so and exits 0). */
export function planResume(req: ResumeRequest): PausePlan | undefined {
  const current = pauseState(req.annotations, req.mechanism, req.audit);
  const anyAudit = [req.audit.by, req.audit.at, req.audit.reason, req.audit.until, req.audit.operatorReplicas].some((k) => req.annotations[k] !== undefined);
  if (!current.paused && !anyAudit) return undefined;
  if (current.by && current.by !== req.user && !req.force) {
    throw new RefusedError(`${req.object} was paused by ${current.by} (${current.reason ?? 'no reason given'}), not by you; re-run with --force to resume it anyway`);
  }
  const plan: PausePlan = { changes: [], warnings: [] };
  // Undo exactly what pause did: the operator's key goes (presence-only operators pause on the key whatever its value).
  if (req.mechanism.type === 'annotation') plan.changes.push(...change(req.annotations, req.mechanism.key, null));
  const recorded = req.annotations[req.audit.operatorReplicas];
  if (recorded !== undefined) {
    const [deployment, count] = recorded.split('=');
    const to = Number(count);
    if (!Number.isFinite(to)) throw new RefusedError(`${req.object} records the operator's old replica count as "${recorded}", which is not deployment=count; scale the operator back by hand`);
    if (!req.operator || req.operator.replicas !== to) plan.operatorScale = { deployment, from: req.operator?.replicas ?? 0, to };
  }
  for (const k of [req.audit.operatorReplicas, req.audit.by, req.audit.at, req.audit.reason, req.audit.until]) plan.changes.push(...change(req.annotations, k, null));
  return plan;
}

/** The merge patch that makes the changes (null deletes a key). */
export function annotationPatch(changes: AnnotationChange[]): { metadata: { annotations: Record<string, string | null> } } {
  return { metadata: { annotations: Object.fromEntries(changes.map((c) => [c.key, c.new])) } };
}
