// plan: the ordered actions that fix what diagnose found, the way redis-cli --cluster fix and WORKFLOWS.md (heal)
// describe. Pure and deterministic. Every action names the finding it fixes (`why`) and the conditions apply checks
// before and after it. A plan made from an observation with nothing to fix is empty, which makes heal idempotent.
import { CLUSTER_SLOTS } from '../redis/cluster-nodes.js';
import {
  clusterPicture,
  desiredReplicas,
  forgetters,
  isOrphan,
  keysIn,
  memberGroups,
  normalize,
  pointsAt,
  podOf,
  rangesText,
  redisAddress,
  slotsOfMember,
  replicationPicture,
  short,
  toRanges,
  type ClusterPicture,
  type Member,
  type ReplicationPicture,
} from './diagnose.js';
import {
  NON_TOPOLOGY_KINDS,
  type Action,
  type Condition,
  type DraftAction,
  type Finding,
  type FindingKind,
  type Intent,
  type Observed,
  type PlanResult,
  type RedisNodeFact,
  type RefusalCandidate,
  type SentinelFact,
  type Unfixed,
} from './types.js';

type Role = 'master' | 'replica';

interface Common {
  pod: string;
  why: FindingKind;
  description: string;
  precondition: Condition[];
  postcondition: Condition[];
  risk?: 'safe' | 'data-loss';
}

/** The fields every action has, with `risk` defaulting to safe. */
function common(c: Common): Omit<Common, 'risk'> & { risk: 'safe' | 'data-loss' } {
  return { ...c, risk: c.risk ?? 'safe' };
}

class Refusal extends Error {
  constructor(message: string, readonly candidates: RefusalCandidate[]) {
    super(message);
  }
}

function candidate(r: RedisNodeFact): RefusalCandidate {
  const c: RefusalCandidate = { pod: r.pod, address: r.address, replid: r.replication?.masterReplid ?? '', offset: r.replication?.masterReplOffset ?? 0 };
  if (r.dbsize !== undefined) c.dbsize = r.dbsize;
  return c;
}

/** Findings heal acts on: topology ones, narrowed by --only. */
function chosen(findings: Finding[], only: FindingKind[] | undefined): Finding[] {
  return findings.filter((f) => !NON_TOPOLOGY_KINDS.includes(f.kind) && (!only || only.includes(f.kind)));
}

/** Why heal leaves a finding alone, for the kinds no action fixes. */
const LEFT_ALONE: Partial<Record<FindingKind, string>> = {
  'node-unreachable': 'heal does not restart pods: wait for the pod, or delete it so its StatefulSet re-creates it',
  'node-failed': 'the flag clears by itself once the nodes reach each other on the cluster bus; check NetworkPolicies and the bus port',
  'replica-link-down': 'a replica that follows its master\'s current address reconnects by itself (heal --yes watches it for up to --step-timeout); if it stays down, check masterauth and the network, or restart the replica',
  'sentinel-quorum-unreachable': 'sentinels that do not answer need their pods fixed; heal cannot vote for them',
  'reconcile-paused': 'resume the target when the work that needed the pause is done',
  'operator-not-running': 'the operator Deployment needs fixing (or resume, when a pause scaled it down)',
  'pdb-missing': 'PodDisruptionBudgets belong to the operator or chart; set them there',
  'pdb-unsafe': 'PodDisruptionBudgets belong to the operator or chart; set them there',
  'pod-not-ready': 'heal does not restart pods',
};

// ---------------------------------------------------------------- Redis Cluster

type Phase = 'meet' | 'adopt' | 'forget' | 'slots' | 'replicas' | 'failover' | 'rebalance' | 'labels';
const PHASES: Phase[] = ['meet', 'adopt', 'forget', 'slots', 'replicas', 'failover', 'rebalance', 'labels'];

/** Decides the cluster fix on a projection of the cluster that each decision updates, then emits in a safe order. */
class ClusterPlanner {
  private readonly pic: ClusterPicture;
  private readonly out = new Map<Phase, DraftAction[]>(PHASES.map((p) => [p, []]));
  readonly unfixed: Unfixed[] = [];
  /** projected owner of every slot */
  private readonly owner: Array<string | undefined>;
  private readonly role = new Map<string, Role>();
  /** pod -> id of the master it will replicate */
  private readonly masterOf = new Map<string, string | undefined>();
  /** pod -> the finding that changed its role, for its label */
  private readonly roleChangedBy = new Map<string, FindingKind>();
  private readonly forgotten = new Map<string, FindingKind>();
  private readonly bumps = new Map<string, { why: FindingKind; post: Condition[] }>();
  private readonly joining = new Set<string>();
  /** `observer>id`: MEETs this plan makes because the observer forgot a live node */
  private readonly reintroduced = new Set<string>();
  /** pod -> the finding this plan moved it to another master for */
  private readonly moved = new Map<string, FindingKind>();

  constructor(private readonly o: Observed, private readonly findings: Finding[], private readonly prefer: string | undefined) {
    this.pic = clusterPicture(o);
    this.owner = [...this.pic.owner];
    for (const m of this.pic.members) {
      this.role.set(m.pod, m.self.role === 'replica' ? 'replica' : 'master');
      this.masterOf.set(m.pod, m.self.role === 'replica' ? m.self.masterId ?? undefined : undefined);
    }
  }

  private of(kind: FindingKind): Finding[] {
    return this.findings.filter((f) => f.kind === kind);
  }

  private has(kind: FindingKind): boolean {
    return this.findings.some((f) => f.kind === kind);
  }

  private emit(phase: Phase, a: DraftAction): void {
    this.out.get(phase)!.push(a);
  }

  private leave(f: Finding, reason: string): void {
    this.unfixed.push({ kind: f.kind, pods: f.pods, reason });
  }

  private member(id: string | undefined): Member | undefined {
    return id ? this.pic.byId.get(id) : undefined;
  }

  private memberByPod(pod: string): Member | undefined {
    return this.pic.members.find((m) => m.pod === pod);
  }

  run(): DraftAction[] {
    this.meetStale();
    this.meetOutsiders();
    this.meetForgotten();
    this.goneNodes();
    this.contestedSlots();
    this.openSlots();
    this.uncoveredSlots();
    this.disagreeingViews();
    this.epochCollisions();
    this.flushBumps();
    this.placeReplicas();
    this.separateMasters();
    // A failover may open the swap that was missing before it.
    this.spreadReplicas(this.projectedMasters(), 'rebalance');
    this.flushForgets();
    this.labels();
    for (const f of this.findings) {
      const reason = LEFT_ALONE[f.kind];
      if (reason) this.leave(f, reason);
    }
    return PHASES.flatMap((p) => lastMoveOnly(this.out.get(p)!));
  }

  // -- membership

  private meet(phase: Phase, why: FindingKind, from: Member, to: Member, alsoAfter: Condition[] = [], risk: 'safe' | 'data-loss' = 'safe', note = ''): void {
    this.emit(phase, {
      ...common({
        pod: from.pod, why, risk, description: `CLUSTER MEET ${to.ip}:${to.port} on ${from.pod} (${to.pod}, ${short(to.id)})${note}`,
        precondition: [{ type: 'reachable', pod: from.pod }, { type: 'reachable', pod: to.pod }],
        postcondition: [{ type: 'nodeKnown', observerPod: from.pod, nodeId: to.id, address: `${to.ip}:${to.port}` }, ...alsoAfter],
      }),
      kind: 'clusterMeet', ip: to.ip, port: to.port, busPort: to.busPort,
    });
  }

  private meetStale(): void {
    for (const f of this.of('stale-ip')) {
      const live = this.member(f.nodeIds[0]);
      if (!live) continue;
      for (const m of this.pic.members) {
        const e = m.view.find((x) => x.id === live.id && !x.myself);
        if (e && `${e.ip}:${e.port}` !== `${live.ip}:${live.port}`) this.meet('meet', 'stale-ip', m, live);
      }
    }
  }

  private meetOutsiders(): void {
    const anchor = memberGroups(this.pic)[0]?.[0];
    const sides = this.partitionSides();
    for (const f of this.of('pod-not-in-cluster')) {
      const m = this.memberByPod(f.pods[0]);
      if (!m || !anchor) continue;
      // a side of a partition that claims the main group's slots: contestedSlots reunites it, or refuses
      if (sides.has(m.pod)) continue;
      if (this.ownedBy(m.id) > 0 || (m.fact.dbsize ?? 0) > 0) {
        this.leave(f, `${m.pod} holds slots or keys of its own; joining it could overwrite data: empty it (CLUSTER RESET) or join it by hand`);
        continue;
      }
      this.joining.add(m.pod);
      this.meet('meet', 'pod-not-in-cluster', anchor, m);
    }
  }

  /**
   * A live node some others forgot (CLUSTER FORGET while it was still there): each of them MEETs it again. MEET
   * works inside the 60 s ban FORGET sets (the ban only stops gossip from re-adding the node), and a node nobody
   * else knows would stay forgotten for good. The node keeps its role: its own pings tell the others whose replica
   * it is, or that it serves its slots, which is what the postcondition waits for.
   */
  private meetForgotten(): void {
    for (const f of this.of('node-forgotten')) {
      const x = this.member(f.nodeIds[0]);
      if (!x) continue;
      const first = toRanges(this.slotsOwnedBy(x.id))[0];
      for (const m of forgetters(this.pic, x)) {
        this.reintroduced.add(`${m.pod}>${x.id}`);
        this.meet('meet', 'node-forgotten', m, x, first && x.self.role === 'master' ? [{ type: 'slotOwner', slot: first[0], nodeId: x.id, observerPod: m.pod }] : []);
      }
    }
  }

  private ownedBy(id: string): number {
    let n = 0;
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === id) n++;
    return n;
  }

  private slotsOwnedBy(id: string): number[] {
    const out: number[] = [];
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === id) out.push(s);
    return out;
  }

  /** A node id no pod is any more: promote its best replica (TAKEOVER keeps its data), then FORGET it everywhere. */
  private goneNodes(): void {
    for (const f of this.of('unknown-node')) {
      const id = f.nodeIds[0];
      if (!this.pic.accountedFor) {
        this.leave(f, 'some Redis pods do not answer, and the unknown node may be one of them; heal forgets a node only when every pod answers');
        continue;
      }
      this.forgotten.set(id, 'unknown-node');
      const slots = this.slotsOwnedBy(id);
      if (slots.length > 0) this.takeOver(id, slots);
    }
  }

  private takeOver(id: string, slots: number[]): void {
    // The most data first; among equals one on a Kubernetes node without a master.
    const occupied = new Set(this.pic.members.filter((m) => slotsOfMember(m) > 0).map((m) => m.nodeName));
    const heirs = this.pic.members.filter((m) => m.self.role === 'replica' && m.self.masterId === id)
      .sort((a, b) => (b.fact.replication?.slaveReplOffset ?? 0) - (a.fact.replication?.slaveReplOffset ?? 0)
        || Number(occupied.has(a.nodeName)) - Number(occupied.has(b.nodeName)) || a.pod.localeCompare(b.pod));
    for (const s of slots) this.owner[s] = heirs[0]?.id;
    const heir = heirs[0];
    if (!heir) return;
    // TAKEOVER claims what the heir's own view says its master served, which a stale view may make differ from
    // the merged picture: the postcondition follows the heir's view
    const own = heir.view.find((e) => e.id === id)?.slots ?? [];
    const first = own.length > 0 ? own[0] : toRanges(slots)[0];
    this.emit('adopt', {
      ...common({
        pod: heir.pod, why: 'unknown-node', description: `CLUSTER FAILOVER TAKEOVER on ${heir.pod}: it takes the ${slots.length} slots of its gone master ${short(id)}`,
        precondition: [{ type: 'role', pod: heir.pod, equals: 'replica' }, { type: 'replicaOf', pod: heir.pod, masterId: id }],
        postcondition: [{ type: 'role', pod: heir.pod, equals: 'master' }, { type: 'slotsOwned', pod: heir.pod, ranges: [first] }],
      }),
      kind: 'clusterFailover', mode: 'takeover',
    });
    this.role.set(heir.pod, 'master');
    this.masterOf.set(heir.pod, undefined);
    this.roleChangedBy.set(heir.pod, 'unknown-node');
    for (const r of heirs.slice(1)) this.replicate('adopt', 'unknown-node', r, heir);
  }

  private flushForgets(): void {
    for (const [id, why] of [...this.forgotten.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      // A replica cannot forget its own master: its replicas forget it in the next round, once they follow another.
      const able = this.pic.members.filter((m) => m.self.masterId !== id && this.masterOf.get(m.pod) !== id);
      if (!able.some((m) => m.view.some((e) => e.id === id))) continue;
      const pods = able.map((m) => m.pod);
      this.emit('forget', {
        ...common({
          pod: pods[0], why, description: `CLUSTER FORGET ${short(id)} on ${pods.length} node(s), back to back`,
          precondition: pods.map((pod) => ({ type: 'reachable', pod })),
          postcondition: pods.map((pod) => ({ type: 'nodeNotKnown', observerPod: pod, nodeId: id })),
        }),
        kind: 'clusterForget', pods, nodeId: id,
      });
    }
  }

  // -- slots

  private keyHolders(s: number, among: Member[]): Member[] {
    return among.filter((m) => keysIn(m.fact, [s]) > 0)
      .sort((a, b) => keysIn(b.fact, [s]) - keysIn(a.fact, [s]) || a.pod.localeCompare(b.pod));
  }

  /** Which claimant keeps a contested slot: the one with its keys, else the highest config epoch (as Redis decides). */
  private winnerOf(s: number, owners: Member[]): Member {
    if (this.prefer) {
      const preferred = owners.find((m) => m.pod === this.prefer);
      if (!preferred) throw new Refusal(`--prefer ${this.prefer} is not one of the masters claiming slot ${s} (${owners.map((m) => m.pod).join(', ')})`, owners.map((m) => candidate(m.fact)));
      return preferred;
    }
    const holders = this.keyHolders(s, owners);
    if (holders.length > 1) {
      throw new Refusal(
        `slot ${s} is claimed by ${holders.map((m) => m.pod).join(' and ')}, and each holds keys of it: their data diverged. Re-run heal with --prefer POD to keep one; the others' keys of those slots move to it or are lost`,
        owners.map((m) => candidate(m.fact)),
      );
    }
    if (holders.length === 1) return holders[0];
    return [...owners].sort((a, b) => b.self.configEpoch - a.self.configEpoch || a.id.localeCompare(b.id))[0];
  }

  /** Claimants of a contested slot that do not know each other, and their groups: the sides of a partition. */
  private partitionSides(): Set<string> {
    const out = new Set<string>();
    for (const f of this.of('slot-multiple-owners')) {
      const owners = f.nodeIds.map((id) => this.member(id)).filter((m): m is Member => !!m);
      if (!partitioned(owners)) continue;
      for (const g of memberGroups(this.pic)) if (g.some((m) => owners.includes(m))) for (const m of g) out.add(m.pod);
    }
    return out;
  }

  /**
   * Two masters claim the same slots and do not know each other: the sides of a partition that a FORGET (an
   * operator cleaning up "failed" nodes) kept apart, so Redis never compared their claims. When the sides meet
   * again Redis keeps the claim with the higher config epoch and makes the other master, once it has lost all its
   * slots, a replica of the winner (a full resync: its own keys are dropped), as after any healed partition. So heal
   * reunites the sides with MEETs when the side to keep (--prefer, or the only one holding keys) has the higher
   * epoch, and refuses otherwise rather than lose the side it was asked to keep.
   */
  private reunite(f: Finding, owners: Member[]): void {
    const slots = (f.slots ?? []).flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    const winners = [...new Set(slots.map((s) => this.winnerOf(s, owners)))];
    if (winners.length !== 1) {
      throw new Refusal(`slots ${rangesText(f.slots ?? [])} are claimed by ${owners.map((m) => m.pod).join(' and ')}, which do not know each other, and the keys of different slots are on different sides: re-run heal with --prefer POD`, owners.map((m) => candidate(m.fact)));
    }
    const [winner] = winners;
    const losers = owners.filter((m) => m !== winner);
    const rival = losers.find((m) => m.self.configEpoch >= winner.self.configEpoch);
    if (rival) {
      throw new Refusal(
        `${winner.pod} and ${rival.pod} both claim slots ${rangesText(f.slots ?? [])} and do not know each other (a partition kept apart by FORGET). ` +
        `${winner.pod} has config epoch ${winner.self.configEpoch}, not above ${rival.pod}'s ${rival.self.configEpoch}: when they meet Redis keeps ${rival.pod}'s claim and drops ${winner.pod}'s keys. ` +
        `Heal does not move the keys across a partition: re-run with --prefer ${rival.pod}, or copy ${winner.pod}'s keys by hand first`,
        owners.map((m) => candidate(m.fact)),
      );
    }
    for (const s of slots) this.owner[s] = winner.id;
    const groups = memberGroups(this.pic);
    const groupOf = (m: Member) => groups.find((g) => g.includes(m)) ?? [m];
    const knows = (a: Member, b: Member) => a.view.some((e) => e.id === b.id && !e.handshake);
    for (const loser of losers) {
      const dropped = keysIn(loser.fact, slots);
      const pairs: Array<[Member, Member]> = [];
      for (const x of groupOf(loser)) {
        for (const y of groupOf(winner)) {
          if (x === y) continue;
          if (!knows(x, y)) pairs.push([x, y]);
          if (!knows(y, x)) pairs.push([y, x]);
        }
      }
      // MEET works both ways inside FORGET's 60 s ban; the last one waits until the loser sees the winner's claim
      pairs.forEach(([from, to], i) => {
        const last = i === pairs.length - 1;
        this.meet('meet', 'slot-multiple-owners', from, to,
          last ? [{ type: 'slotOwner', slot: slots[0], nodeId: winner.id, observerPod: loser.pod }] : [],
          dropped > 0 ? 'data-loss' : 'safe',
          last ? `: the two sides of the partition meet; ${winner.pod} (config epoch ${winner.self.configEpoch}) keeps slots ${rangesText(f.slots ?? [])} and ${loser.pod} (epoch ${loser.self.configEpoch}) becomes its replica${dropped > 0 ? `, dropping its ${dropped} keys there` : ''}` : '');
      });
      if (this.slotsOwnedBy(loser.id).length === 0) {
        this.role.set(loser.pod, 'replica');
        this.masterOf.set(loser.pod, winner.id);
        this.roleChangedBy.set(loser.pod, 'slot-multiple-owners');
      }
    }
  }

  private contestedSlots(): void {
    for (const f of this.of('slot-multiple-owners')) {
      const owners = f.nodeIds.map((id) => this.member(id)).filter((m): m is Member => !!m);
      if (partitioned(owners)) {
        this.reunite(f, owners);
        continue;
      }
      const lost = new Map<string, { winner: Member; slots: number[] }>();
      for (const [a, b] of f.slots ?? []) {
        for (let s = a; s <= b; s++) {
          const winner = this.winnerOf(s, owners);
          this.owner[s] = winner.id;
          for (const loser of owners.filter((m) => m !== winner)) {
            const key = `${loser.pod}>${winner.pod}`;
            lost.set(key, { winner, slots: [...(lost.get(key)?.slots ?? []), s] });
          }
        }
      }
      for (const [key, { winner, slots }] of lost) this.yieldSlots(this.memberByPod(key.split('>')[0])!, winner, slots);
    }
  }

  /** The loser drops its claim; keys it holds move to the winner through an IMPORTING state, as redis-cli does. */
  private yieldSlots(loser: Member, winner: Member, slots: number[]): void {
    const ranges = toRanges(slots);
    const keyed = slots.filter((s) => keysIn(loser.fact, [s]) > 0);
    this.emit('slots', {
      ...common({
        pod: loser.pod, why: 'slot-multiple-owners', risk: keyed.length > 0 ? 'data-loss' : 'safe',
        description: `CLUSTER DELSLOTSRANGE ${rangesText(ranges)} on ${loser.pod}: ${winner.pod} keeps them`,
        precondition: [{ type: 'role', pod: loser.pod, equals: 'master' }, { type: 'slotsOwned', pod: loser.pod, ranges }],
        postcondition: [{ type: 'slotOwner', slot: slots[0], nodeId: winner.id, observerPod: loser.pod }],
      }),
      kind: 'delSlots', ranges,
    });
    for (const s of keyed) this.drainSlot('slot-multiple-owners', s, loser, winner, true);
    this.bump(winner, 'slot-multiple-owners', { type: 'slotOwner', slot: slots[0], nodeId: winner.id });
  }

  /** Move every key of `s` from `from` to `to`, then close the slot on `from`. */
  private drainSlot(why: FindingKind, s: number, from: Member, to: Member, importFirst: boolean): void {
    if (importFirst) {
      this.emit('slots', {
        ...common({
          pod: from.pod, why, description: `CLUSTER SETSLOT ${s} IMPORTING ${short(to.id)} on ${from.pod}, so MIGRATE is not redirected`,
          precondition: [{ type: 'reachable', pod: from.pod }],
          postcondition: [{ type: 'slotState', pod: from.pod, slot: s, state: 'importing', peerId: to.id }],
        }),
        kind: 'setSlotImporting', slot: s, nodeId: to.id,
      });
    }
    this.emit('slots', {
      ...common({
        pod: from.pod, why, risk: keysIn(to.fact, [s]) > 0 ? 'data-loss' : 'safe',
        description: `MIGRATE the ${keysIn(from.fact, [s])} keys of slot ${s} from ${from.pod} to ${to.pod}`,
        precondition: [{ type: 'reachable', pod: from.pod }, { type: 'reachable', pod: to.pod }],
        postcondition: [{ type: 'keysInSlot', pod: from.pod, slot: s, max: 0 }],
      }),
      kind: 'migrateKeys', slot: s, toNodeId: to.id, toPod: to.pod, toAddress: `${to.ip}:${to.port}`,
    });
    this.stable(why, from, s);
  }

  private stable(why: FindingKind, m: Member, s: number): void {
    this.emit('slots', {
      ...common({
        pod: m.pod, why, description: `CLUSTER SETSLOT ${s} STABLE on ${m.pod}`,
        precondition: [{ type: 'reachable', pod: m.pod }],
        postcondition: [{ type: 'slotStable', pod: m.pod, slot: s }],
      }),
      kind: 'setSlotStable', slot: s,
    });
  }

  private addSlots(why: FindingKind, m: Member, all: number[]): void {
    // ADDSLOTS fails ("already busy") for a slot the taker's own view still gives to another node that no longer
    // claims it (a stale view): SETSLOT NODE to itself takes such a slot, and its claim spreads by its config epoch.
    // Slots of a node this plan forgets are free by then: FORGET runs first.
    const stale = new Map<number, string>();
    for (const e of m.view) {
      if (e.id === m.id || e.role !== 'master' || e.handshake || this.forgotten.has(e.id)) continue;
      for (const [a, b] of e.slots ?? []) for (let s = a; s <= b; s++) stale.set(s, e.id);
    }
    const slots = all.filter((s) => !stale.has(s));
    for (const s of all.filter((x) => stale.has(x))) {
      this.emit('slots', {
        ...common({
          pod: m.pod, why, description: `CLUSTER SETSLOT ${s} NODE ${short(m.id)} on ${m.pod}: its own view still gives the slot to ${short(stale.get(s)!)}, which no longer claims it`,
          precondition: [{ type: 'role', pod: m.pod, equals: 'master' }],
          postcondition: [{ type: 'slotOwner', slot: s, nodeId: m.id, observerPod: m.pod }],
        }),
        kind: 'setSlotNode', slot: s, nodeId: m.id,
      });
      this.owner[s] = m.id;
    }
    if (slots.length === 0) return;
    const ranges = toRanges(slots);
    this.emit('slots', {
      ...common({
        pod: m.pod, why, description: `CLUSTER ADDSLOTSRANGE ${rangesText(ranges)} on ${m.pod} (${slots.length} slots)`,
        precondition: [{ type: 'role', pod: m.pod, equals: 'master' }, ...ranges.slice(0, 16).map(([a]): Condition => ({ type: 'slotUnassigned', pod: m.pod, slot: a }))],
        postcondition: [{ type: 'slotsOwned', pod: m.pod, ranges }],
      }),
      kind: 'addSlots', ranges,
    });
    for (const s of slots) this.owner[s] = m.id;
  }

  private openSlots(): void {
    for (const f of this.of('open-slot')) {
      const s = f.slots?.[0]?.[0];
      if (s === undefined) continue;
      const migrating = this.pic.members.filter((m) => (m.self.migrating ?? []).some((x) => x.slot === s));
      const importing = this.pic.members.filter((m) => (m.self.importing ?? []).some((x) => x.slot === s));
      if (!this.finishMigration(s, migrating, importing)) this.rollBackSlot(f, s, [...migrating, ...importing]);
    }
  }

  /** One node migrating the slot it owns to one node importing it from there: finish the move, as redis-cli fix does. */
  private finishMigration(s: number, migrating: Member[], importing: Member[]): boolean {
    if (migrating.length !== 1 || importing.length !== 1) return false;
    const [from, to] = [migrating[0], importing[0]];
    const paired = from.self.migrating.some((x) => x.slot === s && x.to === to.id) && to.self.importing.some((x) => x.slot === s && x.from === from.id);
    if (!paired || this.owner[s] !== from.id) return false;
    this.emit('slots', {
      ...common({
        pod: from.pod, why: 'open-slot', description: `MIGRATE the ${keysIn(from.fact, [s])} keys of slot ${s} from ${from.pod} to ${to.pod}, finishing the move`,
        precondition: [{ type: 'slotState', pod: from.pod, slot: s, state: 'migrating', peerId: to.id }, { type: 'slotState', pod: to.pod, slot: s, state: 'importing', peerId: from.id }],
        postcondition: [{ type: 'keysInSlot', pod: from.pod, slot: s, max: 0 }],
      }),
      kind: 'migrateKeys', slot: s, toNodeId: to.id, toPod: to.pod, toAddress: `${to.ip}:${to.port}`,
    });
    for (const m of [to, from]) {
      this.emit('slots', {
        ...common({
          pod: m.pod, why: 'open-slot', description: `CLUSTER SETSLOT ${s} NODE ${short(to.id)} on ${m.pod}`,
          precondition: [{ type: 'keysInSlot', pod: from.pod, slot: s, max: 0 }],
          postcondition: [{ type: 'slotOwner', slot: s, nodeId: to.id, observerPod: m.pod }, { type: 'slotStable', pod: m.pod, slot: s }],
        }),
        kind: 'setSlotNode', slot: s, nodeId: to.id,
      });
    }
    this.owner[s] = to.id;
    return true;
  }

  /** Anything else: the owner keeps the slot; the others' keys move to it and every node closes the slot. */
  private rollBackSlot(f: Finding, s: number, open: Member[]): void {
    const masters = this.pic.members.filter((m) => this.masterThroughout(m));
    if (this.owner[s] !== undefined && !this.member(this.owner[s])) {
      this.leave(f, `the owner of slot ${s} does not answer; close the slot once it is back`);
      return;
    }
    let owner = this.member(this.owner[s]);
    if (!owner) {
      owner = this.keyHolders(s, open)[0] ?? this.keyHolders(s, masters)[0] ?? open.find((m) => m.self.role === 'master');
      if (!owner) {
        this.leave(f, `no master is open on slot ${s} to take it`);
        return;
      }
      this.addSlots('open-slot', owner, [s]);
    }
    const nodes = [...new Set(open)].sort((a, b) => a.pod.localeCompare(b.pod));
    if (nodes.includes(owner)) this.stable('open-slot', owner, s);
    for (const m of nodes.filter((x) => x !== owner)) {
      if (keysIn(m.fact, [s]) > 0) this.drainSlot('open-slot', s, m, owner, !m.self.importing.some((x) => x.slot === s));
      else this.stable('open-slot', m, s);
    }
  }

  private uncoveredSlots(): void {
    const why: FindingKind | undefined = this.has('slots-uncovered') ? 'slots-uncovered' : this.forgotten.size > 0 ? 'unknown-node' : undefined;
    if (!why) return;
    const free: number[] = [];
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === undefined && !this.pic.contested.has(s)) free.push(s);
    if (free.length === 0) return;
    const takers = this.slotTakers();
    if (takers.length === 0) {
      this.unfixed.push({ kind: why, pods: [], reason: 'no live master can take the uncovered slots now; heal assigns them once a master is promoted or joins' });
      return;
    }
    const empty: number[] = [];
    for (const s of free) {
      const holders = this.keyHolders(s, this.pic.members.filter((m) => this.masterThroughout(m)));
      if (holders.length === 0) empty.push(s);
      else this.coverKeyedSlot(why, s, holders);
    }
    const before = new Map(takers.map((m) => [m.pod, this.ownedBy(m.id)]));
    for (const [pod, slots] of spread(empty, takers, (m) => this.ownedBy(m.id))) this.addSlots(why, this.memberByPod(pod)!, slots);
    this.distinctEpochs(why, takers.filter((m) => before.get(m.pod) === 0 && this.ownedBy(m.id) > 0));
  }

  /** A master that just got its first slots needs a config epoch of its own, as redis-cli --cluster create gives. */
  private distinctEpochs(why: FindingKind, fresh: Member[]): void {
    const masters = this.projectedMasters();
    for (const m of fresh) {
      if (masters.some((x) => x !== m && x.self.configEpoch === m.self.configEpoch)) this.bump(m, why, { type: 'uniqueConfigEpoch', pod: m.pod });
    }
  }

  /** The node with the most keys of the slot owns it; the others' keys move to it (redis-cli's coverage fix). */
  private coverKeyedSlot(why: FindingKind, s: number, holders: Member[]): void {
    const [target, ...rest] = holders;
    this.addSlots(why, target, [s]);
    for (const m of rest) this.drainSlot(why, s, m, target, true);
  }

  /** Masters that may take slots: live, staying master, in (or joining) the cluster; empty ones only while masters are missing. */
  private slotTakers(): Member[] {
    const outsiders = new Set(memberGroups(this.pic).slice(1).flat().map((m) => m.pod));
    const live = this.pic.members.filter((m) => this.role.get(m.pod) === 'master' && (!outsiders.has(m.pod) || this.joining.has(m.pod)) && !this.forgotten.has(m.id));
    const slotted = live.filter((m) => this.ownedBy(m.id) > 0);
    const empty = live.filter((m) => this.ownedBy(m.id) === 0);
    const declared = this.o.target.expected?.masters;
    const takers = declared === undefined ? live : [...slotted, ...empty.slice(0, Math.max(0, declared - slotted.length))];
    return takers.filter((m) => this.masterThroughout(m));
  }

  /**
   * A master now and after this plan. Slot actions run before role changes when heal applies one phase per round,
   * so they only go to nodes that are masters already; a master this plan promotes gets its slots next round.
   */
  private masterThroughout(m: Member): boolean {
    return m.self.role === 'master' && this.role.get(m.pod) === 'master';
  }

  private bump(m: Member, why: FindingKind, post: Condition): void {
    const b = this.bumps.get(m.pod) ?? { why, post: [] };
    b.post.push(post);
    this.bumps.set(m.pod, b);
  }

  private disagreeingViews(): void {
    for (const f of this.of('views-disagree')) {
      const observer = f.pods[0];
      const firstSlotOf = new Map<string, number>();
      // The owner that claims the slots now: one this plan promotes wins the views by its own failover.
      for (const [a, b] of f.slots ?? []) {
        for (let s = a; s <= b; s++) {
          const id = this.pic.owner[s];
          if (id !== undefined && !firstSlotOf.has(id)) firstSlotOf.set(id, s);
        }
      }
      for (const [id, slot] of firstSlotOf) {
        // the observer forgot the owner altogether: the MEET that re-introduces it brings its slots along
        if (this.reintroduced.has(`${observer}>${id}`)) continue;
        const owner = this.member(id);
        if (!owner || this.role.get(owner.pod) !== 'master' || owner.self.role !== 'master') {
          this.leave(f, `the owner of slot ${slot} does not answer; the views settle when it is back or forgotten`);
          continue;
        }
        this.bump(owner, 'views-disagree', { type: 'slotOwner', slot, nodeId: owner.id, observerPod: observer });
      }
    }
  }

  private epochCollisions(): void {
    for (const f of this.of('epoch-collision')) {
      // Redis itself makes the node with the smaller id move on; keep the largest id and bump the others.
      const ms = f.nodeIds.map((id) => this.member(id)).filter((m): m is Member => !!m).sort((a, b) => a.id.localeCompare(b.id));
      for (const m of ms.slice(0, -1)) this.bump(m, 'epoch-collision', { type: 'uniqueConfigEpoch', pod: m.pod });
    }
  }

  private flushBumps(): void {
    for (const [pod, b] of [...this.bumps.entries()].sort(([a], [c]) => a.localeCompare(c))) {
      this.emit('slots', {
        ...common({
          pod, why: b.why, description: `CLUSTER BUMPEPOCH on ${pod}, so its slot claims win everywhere`,
          precondition: [{ type: 'role', pod, equals: 'master' }],
          postcondition: dedupe(b.post),
        }),
        kind: 'bumpEpoch',
      });
    }
  }

  // -- replicas

  private replicate(phase: Phase, why: FindingKind, r: Member, master: Member): void {
    this.emit(phase, {
      ...common({
        pod: r.pod, why, description: `CLUSTER REPLICATE ${short(master.id)} on ${r.pod}: it becomes a replica of ${master.pod}`,
        precondition: [{ type: 'reachable', pod: r.pod }, { type: 'role', pod: master.pod, equals: 'master' }],
        // Linked and synced, not just listed as a replica: a failover right after needs a replica that caught up.
        postcondition: [{ type: 'replicaOf', pod: r.pod, masterId: master.id }, { type: 'replicaOfAddress', pod: r.pod, host: master.ip, port: master.port }],
      }),
      kind: 'clusterReplicate', masterId: master.id,
    });
    if (this.role.get(r.pod) === 'master') this.roleChangedBy.set(r.pod, why);
    this.moved.set(r.pod, why);
    this.role.set(r.pod, 'replica');
    this.masterOf.set(r.pod, master.id);
  }

  private projectedMasters(): Member[] {
    return this.pic.members.filter((m) => this.role.get(m.pod) === 'master' && this.ownedBy(m.id) > 0);
  }

  private replicasNow(master: Member): Member[] {
    return this.pic.members.filter((m) => this.role.get(m.pod) === 'replica' && this.masterOf.get(m.pod) === master.id);
  }

  /** The master a homeless replica should go to: fewest replicas, on another Kubernetes node when possible. */
  private homeFor(r: Member, masters: Member[]): Member | undefined {
    return [...masters].sort((a, b) => this.replicasNow(a).length - this.replicasNow(b).length
      || Number(sameNode(a, r)) - Number(sameNode(b, r)) || a.pod.localeCompare(b.pod))[0];
  }

  private placeReplicas(): void {
    const masters = this.projectedMasters();
    if (masters.length === 0) return;
    this.adoptOrphans(masters);
    this.relinkStale(masters);
    if (this.has('master-without-replica')) this.fillNeedy(masters);
    this.spreadReplicas(masters, 'replicas');
  }

  /**
   * A replica whose master came back on a new IP keeps replicating the old address, link down, until something
   * tells it (Redis re-points it only if gossip from that master reaches it). CLUSTER REPLICATE of the same
   * master makes it reconnect to the address its cluster view now has.
   */
  private relinkStale(masters: Member[]): void {
    if (!this.has('replica-link-down')) return;
    for (const r of this.pic.members) {
      const rep = r.fact.replication;
      if (this.moved.has(r.pod) || rep?.role !== 'replica' || rep.masterLinkStatus !== 'down' || rep.masterSyncInProgress) continue;
      const master = masters.find((m) => m.id === r.self.masterId);
      const known = master ? r.view.find((e) => e.id === master.id) : undefined;
      if (!master || !known || rep.masterHost === master.ip || known.ip !== master.ip) continue;
      this.replicate('replicas', 'replica-link-down', r, master);
    }
  }

  private adoptOrphans(masters: Member[]): void {
    const homeless = this.pic.members.filter((m) => this.role.get(m.pod) === 'replica' && !masters.some((x) => x.id === this.masterOf.get(m.pod)));
    const orphans = this.of('orphan-replica');
    for (const m of homeless) {
      const f = orphans.find((x) => x.pods.includes(m.pod));
      const goneMaster = this.forgotten.has(this.masterOf.get(m.pod) ?? '');
      if (!f && !goneMaster) continue;
      if (!isOrphan(m, this.pic) && !goneMaster) continue;
      const home = this.homeFor(m, masters);
      if (home) this.replicate(goneMaster ? 'adopt' : 'replicas', f ? 'orphan-replica' : 'unknown-node', m, home);
    }
    for (const m of this.surplusMasters(masters)) {
      const f = orphans.find((x) => x.pods.includes(m.pod));
      const why = f ? 'orphan-replica' : this.forgotten.size > 0 ? 'unknown-node' : undefined;
      if (!why) continue;
      if ((m.fact.dbsize ?? 0) > 0) {
        if (f) this.leave(f, `${m.pod} holds ${m.fact.dbsize} keys; CLUSTER REPLICATE needs an empty node: move or flush them first`);
        continue;
      }
      const home = this.homeFor(m, masters);
      if (home) this.replicate('replicas', why, m, home);
    }
    for (const f of orphans.filter((x) => !x.pods.some((p) => this.moved.has(p)) && !this.unfixed.some((u) => u.kind === x.kind && u.pods === x.pods))) {
      this.leave(f, this.joining.has(f.pods[0]) || !memberGroups(this.pic).slice(1).flat().some((m) => m.pod === f.pods[0])
        ? 'no live master to follow' : `${f.pods[0]} is not part of the cluster yet; join it first`);
    }
  }

  /** Masters left without slots once the target has all the masters it declares (after this plan's changes). */
  private surplusMasters(masters: Member[]): Member[] {
    const declared = this.o.target.expected?.masters;
    if (declared === undefined || masters.length < declared) return [];
    return this.pic.members.filter((m) => this.role.get(m.pod) === 'master' && this.ownedBy(m.id) === 0 && !this.forgotten.has(m.id)
      && (!memberGroups(this.pic).slice(1).flat().includes(m) || this.joining.has(m.pod)));
  }

  private fillNeedy(masters: Member[]): void {
    const want = desiredReplicas(this.o, this.pic);
    for (const needy of [...masters].sort((a, b) => a.pod.localeCompare(b.pod))) {
      while (this.replicasNow(needy).length < want) {
        const donor = masters.filter((m) => m !== needy && this.replicasNow(m).length > want)
          .sort((a, b) => this.replicasNow(b).length - this.replicasNow(a).length || a.pod.localeCompare(b.pod))[0];
        if (!donor) {
          const f = this.of('master-without-replica').find((x) => x.pods.includes(needy.pod));
          if (f) this.leave(f, 'no master has a replica to spare; add replicas (scale the target) instead');
          break;
        }
        const spare = [...this.replicasNow(donor)].sort((a, b) => Number(sameNode(b, donor)) - Number(sameNode(a, donor))
          || Number(sameNode(a, needy)) - Number(sameNode(b, needy)) || a.pod.localeCompare(b.pod))[0];
        this.replicate('replicas', 'master-without-replica', spare, needy);
      }
    }
  }

  /**
   * Swap replicas between shards (or move a spare one) until no replica shares a Kubernetes node with its master:
   * every such pair when that was reported, else the pairs this plan's own moves made.
   */
  private spreadReplicas(masters: Member[], phase: Phase): void {
    const reported = this.has('master-replica-same-node');
    for (const m of masters) {
      for (const r of this.replicasNow(m).filter((x) => sameNode(x, m))) {
        const why = reported ? 'master-replica-same-node' : this.moved.get(r.pod);
        if (!why) continue;
        const swap = this.swapPartner(m, r, masters);
        if (swap) {
          this.replicate(phase, why, r, swap.master);
          this.replicate(phase, why, swap.replica, m);
          continue;
        }
        const elsewhere = masters.filter((x) => x !== m && !sameNode(x, r));
        const home = this.replicasNow(m).length > 1 ? this.homeFor(r, elsewhere) : undefined;
        if (home) this.replicate(phase, why, r, home);
        else if (phase === 'rebalance') {
          this.unfixed.push({ kind: 'master-replica-same-node', pods: [m.pod, r.pod], reason: `no replica on another Kubernetes node can trade places with ${r.pod}; reschedule the pod (anti-affinity)` });
        }
      }
    }
  }

  private swapPartner(m: Member, r: Member, masters: Member[]): { master: Member; replica: Member } | undefined {
    for (const other of masters) {
      if (other === m || sameNode(other, r)) continue;
      const replica = this.replicasNow(other).find((x) => !sameNode(x, m) && x.nodeName !== '');
      if (replica) return { master: other, replica };
    }
    return undefined;
  }

  /** Two masters on one Kubernetes node: fail one of them over to a replica on a node without a master. */
  private separateMasters(): void {
    // Also when this plan's own takeover put a master beside another one.
    const reported = this.has('masters-same-node');
    const why = reported ? 'masters-same-node' : [...this.roleChangedBy.values()].includes('unknown-node') ? 'unknown-node' : undefined;
    if (!why) return;
    const byNode = new Map<string, Member[]>();
    for (const m of this.projectedMasters()) if (m.nodeName) byNode.set(m.nodeName, [...(byNode.get(m.nodeName) ?? []), m]);
    for (const [node, crowd] of [...byNode.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (crowd.length < 2 || (!reported && !crowd.some((m) => this.roleChangedBy.has(m.pod)))) continue;
      // Masters this plan made first: moving them undoes the least.
      const order = [...crowd].sort((a, b) => Number(this.roleChangedBy.has(b.pod)) - Number(this.roleChangedBy.has(a.pod)) || a.pod.localeCompare(b.pod));
      let left = crowd.length;
      for (const m of order) {
        if (left < 2) break;
        const heir = this.heirOffNode(m);
        if (!heir) continue;
        this.failover(m, heir, why);
        left--;
      }
      if (left > 1) this.unfixed.push({ kind: 'masters-same-node', pods: crowd.map((m) => m.pod).sort(), reason: `no master on ${node} has a replica on a Kubernetes node without a master; reschedule pods (anti-affinity)` });
    }
  }

  /** A replica of `m` alone of its shard on a Kubernetes node that holds no master. */
  private heirOffNode(m: Member): Member | undefined {
    const occupied = new Set(this.projectedMasters().map((x) => x.nodeName));
    const shard = [m, ...this.replicasNow(m)];
    return this.replicasNow(m).find((r) => r.nodeName !== '' && !occupied.has(r.nodeName) && shard.filter((x) => x.nodeName === r.nodeName).length === 1);
  }

  private failover(m: Member, heir: Member, why: FindingKind): void {
    this.emit('failover', {
      ...common({
        pod: heir.pod, why, description: `CLUSTER FAILOVER on ${heir.pod}: it takes over from ${m.pod}, moving the master off ${m.nodeName}`,
        precondition: [{ type: 'role', pod: heir.pod, equals: 'replica' }, { type: 'replicaOf', pod: heir.pod, masterId: m.id }],
        postcondition: [{ type: 'role', pod: heir.pod, equals: 'master' }, { type: 'role', pod: m.pod, equals: 'replica' }],
      }),
      kind: 'clusterFailover', mode: 'default',
    });
    for (const s of this.slotsOwnedBy(m.id)) this.owner[s] = heir.id;
    for (const r of this.replicasNow(m)) this.masterOf.set(r.pod, heir.id);
    this.role.set(heir.pod, 'master');
    this.masterOf.set(heir.pod, undefined);
    this.role.set(m.pod, 'replica');
    this.masterOf.set(m.pod, heir.id);
    this.roleChangedBy.set(heir.pod, why);
    this.roleChangedBy.set(m.pod, why);
  }

  private labels(): void {
    const mismatch = new Set(this.of('role-label-mismatch').flatMap((f) => f.pods));
    for (const m of this.pic.members) {
      const why = this.roleChangedBy.get(m.pod) ?? (mismatch.has(m.pod) ? 'role-label-mismatch' : undefined);
      const action = why ? labelAction(this.o, m.pod, this.role.get(m.pod)!, why) : undefined;
      if (action) this.emit('labels', action);
    }
  }
}

/** Some two of these masters do not know each other: their claims were never compared by Redis. */
function partitioned(owners: Member[]): boolean {
  return owners.some((a) => owners.some((b) => a !== b && !a.view.some((e) => e.id === b.id && !e.handshake)));
}

/** A replica moved twice within one phase needs only its last move. */
function lastMoveOnly(actions: DraftAction[]): DraftAction[] {
  return actions.filter((a, i) => a.kind !== 'clusterReplicate' || !actions.slice(i + 1).some((b) => b.kind === 'clusterReplicate' && b.pod === a.pod));
}

function sameNode(a: Member, b: Member): boolean {
  return a.nodeName !== '' && a.nodeName === b.nodeName;
}

function dedupe(cs: Condition[]): Condition[] {
  const seen = new Set<string>();
  return cs.filter((c) => {
    const k = JSON.stringify(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Spread slots over masters so their counts end up even, in contiguous runs: fill the current master up to the
 * even share, then move to the one with the fewest.
 */
export function spread(slots: number[], masters: Member[], owned: (m: Member) => number): Map<string, number[]> {
  const counts = new Map(masters.map((m) => [m.pod, owned(m)]));
  const share = Math.ceil(([...counts.values()].reduce((a, b) => a + b, 0) + slots.length) / Math.max(1, masters.length));
  const fewest = () => [...counts.entries()].sort(([a, x], [b, y]) => x - y || a.localeCompare(b))[0][0];
  const out = new Map<string, number[]>();
  let current = fewest();
  for (const s of slots) {
    if (counts.get(current)! >= share) current = fewest();
    out.set(current, [...(out.get(current) ?? []), s]);
    counts.set(current, counts.get(current)! + 1);
  }
  return out;
}

function labelAction(o: Observed, pod: string, role: Role, why: FindingKind): DraftAction | undefined {
  const label = podOf(o, pod)?.roleLabel;
  if (!label) return undefined;
  const value = role === 'master' ? label.masterValue : label.replicaValue;
  if (label.value === value) return undefined;
  return {
    ...common({
      pod, why, description: `label pod ${pod} ${label.key}=${value} (was ${label.value || 'unset'})`,
      precondition: [{ type: 'role', pod, equals: role }],
      postcondition: [{ type: 'podLabel', pod, key: label.key, value }],
    }),
    kind: 'patchPodLabel', key: label.key, value,
  };
}

// ---------------------------------------------------------------- Sentinel and replication

function offsetOf(r: RedisNodeFact): number {
  return r.replication?.role === 'replica' ? r.replication.slaveReplOffset ?? 0 : r.replication?.masterReplOffset ?? 0;
}

/** `a` holds writes `b` does not: they are not one history that `b` continued. */
function diverged(a: RedisNodeFact, b: RedisNodeFact): boolean {
  if (a.dbsize === 0 || b.dbsize === 0) return false;
  const ra = a.replication;
  const rb = b.replication;
  if (!ra || !rb) return true;
  if (ra.masterReplid === rb.masterReplid) return false;
  const prefix = (x: RedisNodeFact, y: RedisNodeFact) => y.replid2 === x.replication?.masterReplid && (x.replication?.masterReplOffset ?? 0) < (y.secondReplOffset ?? 0);
  return !prefix(a, b) && !prefix(b, a);
}

class ReplicationPlanner {
  private readonly rp: ReplicationPicture;
  private readonly out: DraftAction[] = [];
  readonly unfixed: Unfixed[] = [];
  private readonly role = new Map<string, Role>();
  private readonly roleChangedBy = new Map<string, FindingKind>();
  private readonly remonitored = new Set<string>();

  constructor(private readonly o: Observed, private readonly findings: Finding[], private readonly prefer: string | undefined) {
    this.rp = replicationPicture(o);
    for (const r of this.rp.up) this.role.set(r.pod, r.replication!.role);
  }

  private of(kind: FindingKind): Finding[] {
    return this.findings.filter((f) => f.kind === kind);
  }

  private has(kind: FindingKind): boolean {
    return this.findings.some((f) => f.kind === kind);
  }

  run(): DraftAction[] {
    const master = this.chooseMaster();
    if (master) {
      const cause = this.promote(master);
      this.retargetSentinels(master, cause);
      this.demoteOthers(master);
      this.retargetReplicas(master, cause);
    }
    this.resetSentinels(master);
    this.labels();
    for (const f of this.findings) {
      const reason = LEFT_ALONE[f.kind];
      if (reason) this.unfixed.push({ kind: f.kind, pods: f.pods, reason });
    }
    return this.out;
  }

  private chooseMaster(): RedisNodeFact | undefined {
    const { masters, replicas } = this.rp;
    if (masters.length === 1) {
      // --prefer chooses between masters (or among replicas when there is none); naming a replica of the only master
      // means the split it was meant to decide is gone (Sentinel turns a replica that claims to be master back into a
      // replica of the master it monitors, sentinel.c sentinelRefreshInstanceInfo, 8 s after it sees the claim), and
      // the writes the user wanted kept went with it: say so rather than heal as if --prefer had been honoured
      if (this.prefer && this.prefer !== masters[0].pod) {
        throw new Refusal(`--prefer ${this.prefer}: ${masters[0].pod} is the only master now and ${this.prefer} is not one, so there is no split left to decide; nothing was changed (run status to see who holds what)`, masters.map((m) => candidate(m)));
      }
      return masters[0];
    }
    if (masters.length === 0) return this.has('no-master') ? this.bestReplica(replicas) : undefined;
    return this.has('multiple-masters') ? this.splitBrainWinner(masters) : undefined;
  }

  private preferred(among: RedisNodeFact[]): RedisNodeFact | undefined {
    if (!this.prefer) return undefined;
    const r = among.find((x) => x.pod === this.prefer);
    if (!r) throw new Refusal(`--prefer ${this.prefer} is not one of ${among.map((x) => x.pod).join(', ')}`, among.map((x) => candidate(x)));
    return r;
  }

  /** The replica sentinel would pick: promotable (priority not 0), then the most data, then the name. */
  private bestReplica(replicas: RedisNodeFact[]): RedisNodeFact | undefined {
    return this.preferred(replicas) ?? [...replicas].sort((a, b) => Number(a.replication?.replicaPriority === 0) - Number(b.replication?.replicaPriority === 0)
      || offsetOf(b) - offsetOf(a) || a.pod.localeCompare(b.pod))[0];
  }

  /** Keep the master whose history contains the others'; refuse when their data diverged and nobody chose. */
  private splitBrainWinner(masters: RedisNodeFact[]): RedisNodeFact {
    const chosen = this.preferred(masters);
    if (chosen) return chosen;
    const clash = masters.flatMap((a, i) => masters.slice(i + 1).filter((b) => diverged(a, b)).map((b) => [a.pod, b.pod]));
    if (clash.length > 0) {
      throw new Refusal(
        `${masters.length} masters (${masters.map((m) => m.pod).join(', ')}) took writes of their own since they split (${clash.map(([a, b]) => `${a} vs ${b}`).join(', ')}). Re-run heal with --prefer POD to keep one; the writes the others took since the split are lost`,
        masters.map((m) => candidate(m)),
      );
    }
    return [...masters].sort((a, b) => Number((b.dbsize ?? 1) > 0) - Number((a.dbsize ?? 1) > 0) || offsetOf(b) - offsetOf(a) || a.pod.localeCompare(b.pod))[0];
  }

  /** Make the chosen pod master; say which finding made the whole group move to it (none: only targeted fixes). */
  private promote(master: RedisNodeFact): FindingKind | undefined {
    if (master.replication?.role === 'master') return this.rp.masters.length > 1 ? 'multiple-masters' : undefined;
    this.out.push({
      ...common({
        pod: master.pod, why: 'no-master', risk: 'data-loss',
        description: `REPLICAOF NO ONE on ${master.pod}: it becomes the master (offset ${offsetOf(master)}); writes its old master did not pass on are lost`,
        precondition: [{ type: 'role', pod: master.pod, equals: 'replica' }],
        postcondition: [{ type: 'role', pod: master.pod, equals: 'master' }],
      }),
      kind: 'replicaOfNoOne',
    });
    this.setRole(master.pod, 'master', 'no-master');
    return 'no-master';
  }

  private setRole(pod: string, role: Role, why: FindingKind): void {
    if (this.role.get(pod) !== role) this.roleChangedBy.set(pod, why);
    this.role.set(pod, role);
  }

  private retargetSentinels(master: RedisNodeFact, cause: FindingKind | undefined): void {
    const { host, port } = redisAddress(this.o, master);
    const named = new Set(this.of('sentinel-unknown-master').flatMap((f) => f.pods));
    const disagree = this.has('sentinels-disagree');
    for (const s of this.o.sentinels.filter((x) => x.reachable)) {
      if (s.master && pointsAt(this.o, s.master.ip, s.master.port, master)) continue;
      const why = named.has(s.pod) ? 'sentinel-unknown-master' : disagree ? 'sentinels-disagree' : cause;
      if (why) this.monitor(s, host, port, why, master.pod);
    }
  }

  private monitor(s: SentinelFact, host: string, port: number, why: FindingKind, masterPod: string): void {
    const pre: Condition[] = [{ type: 'role', pod: masterPod, equals: 'master' }];
    if (s.master) {
      this.out.push({
        ...common({ pod: s.pod, why, description: `SENTINEL REMOVE ${s.masterName} on ${s.pod} (it names ${s.master.ip}:${s.master.port})`, precondition: pre, postcondition: [] }),
        kind: 'sentinelRemove', masterName: s.masterName,
      });
    }
    this.out.push({
      ...common({
        pod: s.pod, why, description: `SENTINEL MONITOR ${s.masterName} ${host} ${port} on ${s.pod}`, precondition: pre,
        postcondition: [{ type: 'sentinelMaster', pod: s.pod, masterName: s.masterName, address: `${host}:${port}` }],
      }),
      kind: 'sentinelMonitor', masterName: s.masterName, ip: host, port, quorum: this.quorum(),
    });
    this.remonitored.add(s.pod);
  }

  private quorum(): number {
    const known = this.o.sentinels.map((s) => s.master?.quorum ?? 0).filter((q) => q > 0).sort((a, b) => a - b);
    if (known.length > 0) return known[Math.floor(known.length / 2)];
    const total = Math.max(this.o.target.expected?.sentinels ?? 0, this.o.sentinels.length);
    return Math.floor(total / 2) + 1;
  }

  private replicaOf(r: RedisNodeFact, master: RedisNodeFact, why: FindingKind, risk: 'safe' | 'data-loss'): void {
    const { host, port } = redisAddress(this.o, master);
    this.out.push({
      ...common({
        pod: r.pod, why, risk, description: `REPLICAOF ${host} ${port} on ${r.pod}: it follows ${master.pod}${risk === 'data-loss' ? `, dropping the ${r.dbsize ?? '?'} keys it holds` : ''}`,
        precondition: [{ type: 'role', pod: master.pod, equals: 'master' }],
        postcondition: [{ type: 'replicaOfAddress', pod: r.pod, host, port }],
      }),
      kind: 'replicaOf', host, port,
    });
    this.setRole(r.pod, 'replica', why);
  }

  private demoteOthers(master: RedisNodeFact): void {
    for (const m of this.rp.masters.filter((x) => x !== master)) {
      this.replicaOf(m, master, 'multiple-masters', diverged(m, master) ? 'data-loss' : 'safe');
    }
  }

  private retargetReplicas(master: RedisNodeFact, cause: FindingKind | undefined): void {
    const wrong = new Set(this.of('replica-wrong-master').flatMap((f) => f.pods));
    for (const r of this.rp.replicas) {
      if (r === master || pointsAt(this.o, r.replication?.masterHost, r.replication?.masterPort, master)) continue;
      const why = wrong.has(r.pod) ? 'replica-wrong-master' : cause;
      if (why) this.replicaOf(r, master, why, 'safe');
    }
  }

  private resetSentinels(master: RedisNodeFact | undefined): void {
    const live = this.rp.up.map((r) => `${redisAddress(this.o, r).host}:${redisAddress(this.o, r).port}`);
    for (const f of this.of('sentinel-stale-entries')) {
      const s = this.o.sentinels.find((x) => x.pod === f.pods[0]);
      if (!s || this.remonitored.has(s.pod)) continue;
      const keep = (s.knownReplicas ?? []).filter((a) => live.includes(a) || this.rp.up.some((r) => a.startsWith(`${r.pod}.`)));
      this.out.push({
        ...common({
          pod: s.pod, why: 'sentinel-stale-entries', description: `SENTINEL RESET ${s.masterName} on ${s.pod}: it forgets gone replicas and sentinels and rediscovers the live ones`,
          precondition: master ? [{ type: 'role', pod: master.pod, equals: 'master' }] : [],
          postcondition: [{ type: 'sentinelKnowsOnly', pod: s.pod, addresses: [...new Set([...live, ...keep])].sort() }],
        }),
        kind: 'sentinelReset', pattern: s.masterName,
      });
    }
  }

  private labels(): void {
    const mismatch = new Set(this.of('role-label-mismatch').flatMap((f) => f.pods));
    for (const r of this.rp.up) {
      const why = this.roleChangedBy.get(r.pod) ?? (mismatch.has(r.pod) ? 'role-label-mismatch' : undefined);
      const action = why ? labelAction(this.o, r.pod, this.role.get(r.pod)!, why) : undefined;
      if (action) this.out.push(action);
    }
  }
}

// ---------------------------------------------------------------- entry point

function pausePlan(intent: Extract<Intent, { kind: 'pause' | 'resume' }>): DraftAction[] {
  return Object.keys(intent.annotations).sort().map((key) => {
    const value = intent.annotations[key];
    return {
      ...common({
        pod: intent.object, why: 'reconcile-paused', description: `${value === null ? 'remove' : 'set'} annotation ${key}${value === null ? '' : `=${value}`} on ${intent.object}`,
        precondition: [], postcondition: [{ type: 'annotation', object: intent.object, key, value }],
      }),
      kind: 'patchAnnotation', object: intent.object, key, value,
    };
  });
}

function numbered(drafts: DraftAction[]): Action[] {
  return drafts.map((d, i) => ({ ...d, id: `${i + 1}-${d.kind}` }) as Action);
}

function healPlan(o: Observed, findings: Finding[], prefer: string | undefined): { drafts: DraftAction[]; unfixed: Unfixed[] } {
  switch (o.target.topology) {
    case 'cluster': {
      const p = new ClusterPlanner(o, findings, prefer);
      return { drafts: p.run(), unfixed: p.unfixed };
    }
    case 'sentinel':
    case 'replication': {
      const p = new ReplicationPlanner(o, findings, prefer);
      return { drafts: p.run(), unfixed: p.unfixed };
    }
    default: {
      const drafts = findings.filter((f) => f.kind === 'role-label-mismatch').flatMap((f) => {
        const r = o.redis.find((x) => x.pod === f.pods[0]);
        const a = r?.replication ? labelAction(o, r.pod, r.replication.role, 'role-label-mismatch') : undefined;
        return a ? [a] : [];
      });
      return { drafts, unfixed: findings.filter((f) => LEFT_ALONE[f.kind]).map((f) => ({ kind: f.kind, pods: f.pods, reason: LEFT_ALONE[f.kind]! })) };
    }
  }
}

export function plan(observed: Observed, findings: Finding[], intent: Intent): PlanResult {
  if (intent.kind !== 'heal') return { outcome: 'actions', actions: numbered(pausePlan(intent)) };
  const o = normalize(observed);
  try {
    const { drafts, unfixed } = healPlan(o, chosen(findings, intent.only), intent.prefer);
    const left = [...unfixed, ...findings.filter((f) => NON_TOPOLOGY_KINDS.includes(f.kind) && (!intent.only || intent.only.includes(f.kind)))
      .map((f) => ({ kind: f.kind, pods: f.pods, reason: LEFT_ALONE[f.kind] ?? 'heal does not change Kubernetes objects' }))];
    return left.length > 0 ? { outcome: 'actions', actions: numbered(drafts), unfixed: left } : { outcome: 'actions', actions: numbered(drafts) };
  } catch (e) {
    if (e instanceof Refusal) return { outcome: 'refused', message: e.message, candidates: e.candidates };
    throw e;
  }
}
