// The operator hold: heal, restart and failover keep a target's running operator out of the way for the length of
// their work by pausing it with the operator's own key (the same pause `kubectl redis pause` makes, planned by
// ./pause.ts), recorded as by `kubectl-redis <command> op=<id>` with `until` a few minutes ahead. This file decides,
// purely from the object's annotations, the operator and the pause mechanism, what the hold does; the workflow
// (workflows/pause/hold.ts) applies it and journals it so a crash leaves it recorded and the re-run resumes it.
import { pauseState, type AuditKeys, type PauseMechanism } from '../targets/pause.js';

/** How long a hold says it lasts; renewed while the work goes on, so a crashed run's pause visibly expires. */
export const HOLD_MS = 5 * 60_000;

/** Who a hold's pause is recorded as by: `kubectl-redis restart op=3f2a9c1e`. */
export function holdMarker(command: string, opId: string): string {
  return `kubectl-redis ${command} op=${opId}`;
}

/** The command and operation id of a hold's marker, when `by` is one. */
export function parseHoldMarker(by: string | undefined): { command: string; opId: string } | undefined {
  const m = /^kubectl-redis (\S+) op=(\S+)$/.exec(by ?? '');
  return m ? { command: m[1], opId: m[2] } : undefined;
}

export type HoldDecision =
  /** pause now (and resume at the end) */
  | { action: 'pause' }
  /** the pause is already ours (a re-run of the same operation, or a crashed run of a command without a journal): keep it, resume at the end */
  | { action: 'adopt'; by: string }
  /** leave the object as it is and resume nothing at the end; `warn` says why the operator is not held, when that matters */
  | { action: 'leave'; why: string; warn: boolean };

export interface HoldRequest {
  annotations: Record<string, string>;
  mechanism: PauseMechanism;
  audit: AuditKeys;
  operator: { present: boolean; running: boolean };
  /** the marker of this run: holdMarker(command, opId) */
  marker: string;
  /**
   * Markers of earlier runs this one takes over: a resumed operation's own (same op id), or for a command that
   * keeps no journal (heal), any pause made by that command.
   */
  adopt(by: string): boolean;
  noPause: boolean;
}

export function decideHold(req: HoldRequest): HoldDecision {
  const state = pauseState(req.annotations, req.mechanism, req.audit);
  const by = state.by;
  if (state.paused && by !== undefined && (by === req.marker || req.adopt(by))) return { action: 'adopt', by };
  if (req.noPause) {
    return req.operator.running && !state.paused
      ? { action: 'leave', why: '--no-pause: the operator keeps reconciling and may fight the change (move a master back, re-label pods, undo a failover)', warn: true }
      : { action: 'leave', why: '--no-pause', warn: false };
  }
  if (state.paused) return { action: 'leave', why: `already paused${by ? ` by ${by}` : ''}${state.reason ? ` (${state.reason})` : ''}; left as it is`, warn: false };
  if (req.mechanism.type === 'none') {
    if (req.mechanism.fallback === 'nothing-to-pause') return { action: 'leave', why: `no operator reconciles it (${req.mechanism.why})`, warn: false };
    // Scaling an operator to 0 pauses every resource it manages: never done implicitly, only by `kubectl redis pause --operator-scale-down`.
    return req.operator.running
      ? { action: 'leave', why: `its operator cannot be paused for one resource (${req.mechanism.why}) and keeps reconciling; it may fight the change`, warn: true }
      : { action: 'leave', why: 'its operator is not running', warn: false };
  }
  if (!req.operator.running) return { action: 'leave', why: 'its operator is not running', warn: false };
  return { action: 'pause' };
}
