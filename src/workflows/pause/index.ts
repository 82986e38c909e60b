// pause / resume of a target's operator: resolve the target and its pause mechanism, plan the annotation changes
// (src/reconcile/pause.ts, pure), and apply them as one merge patch guarded by the object's resourceVersion (a
// concurrent edit gives a clear conflict, never a lost update), then the operator scale when that is the
// mechanism, then an Event on the object so `kubectl describe` shows who paused it and why.
import type { KubeClient } from '../../kube/client.js';
import { requirePermissions, type Permission } from '../../kube/access.js';
import { recordEvent } from '../../kube/events.js';
import { patchObject } from '../../kube/patch.js';
import { annotationPatch, planPause, planResume, type PausePlan } from '../../reconcile/pause.js';
import { AUDIT_KEYS, resolveTarget, type Target } from '../../targets/index.js';
import { targetContext } from '../../reconcile/session.js';
import { RES } from '../../kube/resources.js';
import { withConflictRetry } from '../../kube/retry.js';


export interface PauseContext {
  target: Target;
  plan: PausePlan | undefined;
  user: string;
  /** What the pause key means for this operator, for the summary. */
  mechanismText: string;
}

/** Who is acting: the API server's view (SelfSubjectReview) when it answers, else the kubeconfig user. */
export async function whoAmI(kube: KubeClient): Promise<string> {
  try {
    const r = await kube.request<{ status?: { userInfo?: { username?: string } } }>({
      method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      call: { verb: 'create', resource: 'selfsubjectreviews.authentication.k8s.io' },
      idempotent: true,
    });
    const name = r.status?.userInfo?.username;
    if (name) return name;
  } catch {
    // older API servers and some sandboxes lack it
  }
  return kube.kc.getCurrentUser()?.name ?? process.env.USER ?? 'unknown';
}

function operatorOf(ctx: Awaited<ReturnType<typeof targetContext>>): { deployment: string; replicas: number; running: boolean } | undefined {
  const op = ctx.operator;
  return op.present && op.deployment ? { deployment: op.deployment, replicas: op.replicas ?? 1, running: op.running } : undefined;
}

function mechanismText(ctx: Awaited<ReturnType<typeof targetContext>>): string {
  const m = ctx.mechanism;
  if (m.type === 'annotation') return `${m.key}=${m.value}${m.presenceOnly ? ' (this operator version pauses on the key being present, whatever its value)' : ''}`;
  return m.why;
}

export interface PauseOptions {
  reason: string;
  forMs?: number;
  force: boolean;
  operatorScaleDown: boolean;
  now?: Date;
}

export async function preparePause(kube: KubeClient, spec: string, namespace: string, opts: PauseOptions): Promise<PauseContext> {
  const target = await resolveTarget(kube, spec, namespace);
  const ctx = await targetContext(kube, target);
  const user = await whoAmI(kube);
  const plan = planPause({
    object: target.ref, annotations: target.object.metadata.annotations ?? {}, mechanism: ctx.mechanism, audit: AUDIT_KEYS, user,
    reason: opts.reason, now: opts.now ?? new Date(), forMs: opts.forMs, force: opts.force, operatorScaleDown: opts.operatorScaleDown, operator: operatorOf(ctx),
  });
  return { target, plan, user, mechanismText: mechanismText(ctx) };
}

export async function prepareResume(kube: KubeClient, spec: string, namespace: string, force: boolean): Promise<PauseContext> {
  const target = await resolveTarget(kube, spec, namespace);
  const ctx = await targetContext(kube, target);
  const user = await whoAmI(kube);
  const plan = planResume({ object: target.ref, annotations: target.object.metadata.annotations ?? {}, mechanism: ctx.mechanism, audit: AUDIT_KEYS, user, force, operator: operatorOf(ctx) });
  return { target, plan, user, mechanismText: mechanismText(ctx) };
}

/** The merge patch pause/resume sends (shown by --dry-run). */
export function patchOf(c: PauseContext): Record<string, unknown> {
  const p = annotationPatch(c.plan?.changes ?? []);
  return { metadata: { ...p.metadata, resourceVersion: c.target.object.metadata.resourceVersion } };
}

/** What applying needs, asked of the API server before anything changes (SelfSubjectAccessReview). */
export function permissionsFor(c: PauseContext): Permission[] {
  const t = c.target;
  const out: Permission[] = [];
  if ((c.plan?.changes.length ?? 0) > 0) out.push({ verb: 'patch', group: t.resource.group, resource: t.resource.plural, namespace: t.namespace, name: t.name });
  const scale = c.plan?.operatorScale;
  if (scale) {
    const [ns, name] = scale.deployment.split('/');
    out.push({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: ns, name });
  }
  return out;
}

export async function checkPermissions(kube: KubeClient, c: PauseContext): Promise<void> {
  await requirePermissions(kube, permissionsFor(c));
}

/** Apply: the annotations first (the record of the pause), then the operator scale, then the Event. */
export async function applyPause(kube: KubeClient, c: PauseContext, verb: 'pause' | 'resume', reason: string | undefined): Promise<void> {
  const plan = c.plan;
  if (!plan) return;
  const t = c.target;
  if (plan.changes.length > 0) await patchObject(kube, t.resource, t.namespace, t.name, patchOf(c));
  if (plan.operatorScale) {
    const [ns, name] = plan.operatorScale.deployment.split('/');
    await patchObject(kube, RES.deployments, ns, name, { spec: { replicas: plan.operatorScale.to } }, { subresource: 'scale', idempotent: true });
  }
  await recordEvent(kube, {
    apiVersion: t.object.apiVersion ?? `${t.resource.group ? `${t.resource.group}/` : ''}${t.resource.version}`, kind: t.kind, name: t.name, namespace: t.namespace, uid: t.object.metadata.uid,
  }, verb === 'pause'
    ? { reason: 'ReconcilePaused', message: `Reconciliation paused by ${c.user}: ${reason ?? ''}${plan.operatorScale ? ` (operator ${plan.operatorScale.deployment} scaled to 0)` : ''}`, action: 'Pause' }
    : { reason: 'ReconcileResumed', message: `Reconciliation resumed by ${c.user}${plan.operatorScale ? ` (operator ${plan.operatorScale.deployment} scaled back to ${plan.operatorScale.to})` : ''}`, action: 'Resume' });
}

/**
 * applyPause, and when the object changed between our read and our patch (409 Conflict: the patch names the
 * resourceVersion it was planned from, so it never overwrites blindly), read the object again, plan again from what
 * is there now (a pause someone else made meanwhile is refused as usual), and apply that. Bounded; returns the
 * context actually applied (its plan may be empty when the change is already there).
 */
export async function applyPauseRetrying(
  kube: KubeClient,
  first: PauseContext,
  verb: 'pause' | 'resume',
  reason: string | undefined,
  again: () => Promise<PauseContext>,
  onConflict?: (n: number) => void,
): Promise<PauseContext> {
  return withConflictRetry(
    async (n) => {
      const c = n === 1 ? first : await again();
      if ((c.plan?.changes.length ?? 0) === 0 && !c.plan?.operatorScale) return c;
      await applyPause(kube, c, verb, reason);
      return c;
    },
    { onConflict: (n) => onConflict?.(n) },
  );
}
