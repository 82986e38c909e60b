// Pod Security admission, enforce mode only, for the checks a node-level pod meets: the namespace's
// `pod-security.kubernetes.io/enforce` label (privileged | baseline | restricted, with `enforce-version`, default
// "latest") decides; a namespace without it is privileged (the admission's default configuration). Copied from
// kubernetes/pod-security-admission (staging/src/k8s.io/pod-security-admission, v0.32): policy/check_privileged.go,
// check_hostNamespaces.go, check_hostPathVolumes.go (baseline), check_allowPrivilegeEscalation.go,
// check_capabilities_restricted.go, check_runAsNonRoot.go, check_seccompProfile_restricted.go (restricted), and the
// message of admission/admission.go: `violates PodSecurity "LEVEL:VERSION": reason (detail), ...`, the baseline
// checks first, each level's in the order of their IDs. Other checks (host ports, capabilities beyond the baseline
// set, sysctls, AppArmor, SELinux, procMount, volume types other than hostPath) are not emulated.
import type { KObject } from '../core/store.js';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

interface Container {
  name: string;
  securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] }; seccompProfile?: { type?: string } };
}

const pluralize = (one: string, many: string, n: number): string => (n === 1 ? one : many);
const joinQuote = (xs: string[]): string => xs.map((x) => `"${x}"`).join(', ');

/** The violations of `level` by a pod spec, as "reason (detail)" strings; empty when it is allowed. */
export function violations(level: string, spec: Obj): string[] {
  if (level !== 'baseline' && level !== 'restricted') return [];
  const containers = [...((spec.initContainers ?? []) as Container[]), ...((spec.containers ?? []) as Container[])];
  const psc = o(spec.securityContext) as { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  const out: string[] = [];
  // baseline, by check ID: hostNamespaces, hostPathVolumes, privileged
  const hostNs = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => spec[k] === true).map((k) => `${k}=true`);
  if (hostNs.length > 0) out.push(`host namespaces (${hostNs.join(', ')})`);
  const hostPaths = ((spec.volumes ?? []) as Array<{ name: string; hostPath?: unknown }>).filter((v) => v.hostPath !== undefined).map((v) => v.name);
  if (hostPaths.length > 0) out.push(`hostPath volumes (${pluralize('volume', 'volumes', hostPaths.length)} ${joinQuote(hostPaths)})`);
  const privileged = containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length > 0) out.push(`privileged (${pluralize('container', 'containers', privileged.length)} ${joinQuote(privileged)} must not set securityContext.privileged=true)`);
  if (level === 'restricted') {
    // restricted, by check ID: allowPrivilegeEscalation, capabilities_restricted, runAsNonRoot, seccompProfile_restricted
    const escalating = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
    if (escalating.length > 0) out.push(`allowPrivilegeEscalation != false (${pluralize('container', 'containers', escalating.length)} ${joinQuote(escalating)} must set securityContext.allowPrivilegeEscalation=false)`);
    const undropped = containers.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
    if (undropped.length > 0) out.push(`unrestricted capabilities (${pluralize('container', 'containers', undropped.length)} ${joinQuote(undropped)} must set securityContext.capabilities.drop=["ALL"])`);
    const root = containers.filter((c) => c.securityContext?.runAsNonRoot === false || (c.securityContext?.runAsNonRoot === undefined && psc.runAsNonRoot !== true)).map((c) => c.name);
    if (root.length > 0) out.push(`runAsNonRoot != true (pod or ${pluralize('container', 'containers', root.length)} ${joinQuote(root)} must set securityContext.runAsNonRoot=true)`);
    const okSeccomp = (t: string | undefined): boolean => t === 'RuntimeDefault' || t === 'Localhost';
    const noSeccomp = containers.filter((c) => !okSeccomp(c.securityContext?.seccompProfile?.type) && (c.securityContext?.seccompProfile?.type !== undefined || !okSeccomp(psc.seccompProfile?.type))).map((c) => c.name);
    if (noSeccomp.length > 0) out.push(`seccompProfile (pod or ${pluralize('container', 'containers', noSeccomp.length)} ${joinQuote(noSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`);
  }
  return out;
}

/** The Forbidden message for creating `pod` in `namespace`, or undefined when the namespace's level admits it. */
export function podSecurityRejection(namespace: KObject | undefined, pod: KObject): string | undefined {
  const labels = namespace?.metadata.labels ?? {};
  const level = labels[ENFORCE_LABEL] ?? 'privileged';
  const found = violations(level, o(pod.spec));
  if (found.length === 0) return undefined;
  const version = labels[ENFORCE_VERSION_LABEL] ?? 'latest';
  return `pods "${pod.metadata.name || pod.metadata.generateName || ''}" is forbidden: violates PodSecurity "${level}:${version}": ${found.join(', ')}`;
}
