// The views of restart and failover: the replicas a failover chose from (the plan before asking, and --dry-run),
// and restart's pods, one row per pod in the order they are restarted, with the journal's state of each.
import type { OutputSpec } from './output.js';
import type { FailoverCandidate } from '../reconcile/failover.js';
import type { PlanRow } from '../reconcile/types.js';

export interface CandidateRow extends FailoverCandidate {
  chosen: boolean;
}

const lagText = (lag: number) => (Number.isFinite(lag) ? `${lag} B` : 'link down');

export const candidateSpec: OutputSpec<CandidateRow> = {
  columns: [
    { header: 'REPLICA', value: (r) => `${r.chosen ? '* ' : '  '}${r.pod}` },
    { header: 'NODE', value: (r) => r.nodeName || '-' },
    { header: 'BEHIND', value: (r) => lagText(r.lag) },
    { header: 'SAME NODE AS MASTER', value: (r) => (r.sameNode ? 'yes' : 'no') },
    { header: 'PRIORITY', value: (r) => r.priority ?? '-', wide: true },
  ],
  toDocument: (rows) => rows.map((r) => ({ ...r, lag: Number.isFinite(r.lag) ? r.lag : null })),
  empty: 'No replicas.',
};

export const restartSpec: OutputSpec<PlanRow> = {
  columns: [
    { header: '#', value: (r) => r.n },
    { header: 'POD', value: (r) => r.pod },
    { header: 'STEP', value: (r) => r.step },
    { header: 'STATE', value: (r) => r.state },
    { header: 'WHAT', value: (r) => r.action },
  ],
};
