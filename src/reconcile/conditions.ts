// Whether an action's precondition / postcondition holds in an observation. Pure: apply re-observes and asks.
import type { ClusterNodeEntry } from '../redis/types.js';
import { podForHost } from './diagnose.js';
import type { Condition, Observed, RedisNodeFact } from './types.js';

function node(o: Observed, pod: string): RedisNodeFact | undefined {
  return o.redis.find((r) => r.pod === pod);
}

function myself(r: RedisNodeFact | undefined): ClusterNodeEntry | undefined {
  return r?.clusterNodes?.find((e) => e.myself);
}

function owns(e: ClusterNodeEntry, slot: number): boolean {
  return e.slots.some(([a, b]) => slot >= a && slot <= b);
}

export function holds(o: Observed, c: Condition): boolean {
  switch (c.type) {
    case 'reachable':
      return node(o, c.pod)?.reachable === true;
    case 'clusterOk':
      return node(o, c.pod)?.clusterInfo?.state === 'ok';
    case 'role': {
      const r = node(o, c.pod);
      return r?.reachable === true && r.replication?.role === c.equals;
    }
    case 'replicaOf': {
      const me = myself(node(o, c.pod));
      return me?.role === 'replica' && me.masterId === c.masterId;
    }
    case 'replicaOfAddress': {
      const rep = node(o, c.pod)?.replication;
      // an IP and the DNS name of the same pod are the same master
      const same = rep?.masterHost === c.host || (podForHost(o, rep?.masterHost) !== undefined && podForHost(o, rep?.masterHost)?.name === podForHost(o, c.host)?.name);
      return rep?.role === 'replica' && same && rep.masterPort === c.port && rep.masterLinkStatus === 'up';
    }
    case 'slotOwner': {
      const observers = c.observerPod ? [node(o, c.observerPod)] : o.redis.filter((r) => r.reachable && r.clusterNodes);
      return observers.length > 0 && observers.every((r) => {
        const owners = (r?.clusterNodes ?? []).filter((e) => e.role === 'master' && owns(e, c.slot));
        return owners.length === 1 && owners[0].id === c.nodeId;
      });
    }
    case 'slotsOwned': {
      const me = myself(node(o, c.pod));
      return !!me && c.ranges.every(([a, b]) => me.slots.some(([x, y]) => x <= a && b <= y));
    }
    case 'slotUnassigned': {
      const r = node(o, c.pod);
      return !!r?.clusterNodes && !r.clusterNodes.some((e) => owns(e, c.slot));
    }
    case 'slotStable': {
      const me = myself(node(o, c.pod));
      return !!me && !me.migrating.some((m) => m.slot === c.slot) && !me.importing.some((i) => i.slot === c.slot);
    }
    case 'slotsStable': {
      const me = myself(node(o, c.pod));
      const inside = (slot: number) => c.ranges.some(([a, b]) => slot >= a && slot <= b);
      return !!me && !me.migrating.some((m) => inside(m.slot)) && !me.importing.some((i) => inside(i.slot));
    }
    case 'slotsOwnedBy': {
      const view = node(o, c.observerPod)?.clusterNodes;
      if (!view) return false;
      const owners = view.filter((e) => e.role === 'master' && c.nodeIds.includes(e.id));
      // each range must be covered by the owners' slots: walk it slot by slot only where a range is not inside one
      return c.ranges.every(([a, b]) => {
        for (let s = a; s <= b; s++) if (!owners.some((e) => owns(e, s))) return false;
        return true;
      });
    }
    case 'memoryRoom': {
      const r = node(o, c.pod);
      if (!r?.reachable) return false;
      if (!r.maxMemory || r.usedMemory === undefined) return true;
      return r.usedMemory + c.bytes <= (r.maxMemory * c.percent) / 100;
    }
    case 'slotState': {
      const me = myself(node(o, c.pod));
      if (!me) return false;
      return c.state === 'migrating'
        ? me.migrating.some((m) => m.slot === c.slot && m.to === c.peerId)
        : me.importing.some((i) => i.slot === c.slot && i.from === c.peerId);
    }
    case 'keysInSlot': {
      const r = node(o, c.pod);
      if (!r?.reachable) return false;
      const n = r.keysBySlot?.[c.slot] ?? 0;
      return (c.min === undefined || n >= c.min) && (c.max === undefined || n <= c.max);
    }
    case 'nodeKnown': {
      const r = node(o, c.observerPod);
      const e = r?.clusterNodes?.find((x) => x.id === c.nodeId);
      return !!e && `${e.ip}:${e.port}` === c.address && !e.handshake;
    }
    case 'nodeNotKnown': {
      const r = node(o, c.observerPod);
      return !!r?.clusterNodes && !r.clusterNodes.some((x) => x.id === c.nodeId);
    }
    case 'uniqueConfigEpoch': {
      const r = node(o, c.pod);
      const me = myself(r);
      if (!me || !r?.clusterNodes) return false;
      return !r.clusterNodes.some((e) => !e.myself && e.role === 'master' && e.configEpoch === me.configEpoch);
    }
    case 'sentinelMaster': {
      const s = o.sentinels.find((x) => x.pod === c.pod);
      return !!s?.master && `${s.master.ip}:${s.master.port}` === c.address;
    }
    case 'sentinelKnowsOnly': {
      const s = o.sentinels.find((x) => x.pod === c.pod);
      if (!s?.reachable) return false;
      // and no sentinel it remembers is gone (a sentinel restarted on a new IP leaves its old address behind)
      const live = new Set(o.pods.map((p) => p.ip).filter(Boolean));
      return s.knownReplicas.every((a) => c.addresses.includes(a)) && s.knownSentinels.every((a) => live.has(a.slice(0, a.lastIndexOf(':'))));
    }
    case 'podLabel': {
      const p = o.pods.find((x) => x.name === c.pod);
      return p?.roleLabel?.key === c.key && p.roleLabel.value === c.value;
    }
    case 'podGone':
      // A StatefulSet re-creates the pod under the same name; apply compares IPs before and after for that case.
      return !o.pods.some((x) => x.name === c.pod);
    case 'annotation':
    case 'deploymentReplicas':
      // Kubernetes-object conditions are checked by apply against the API, not the Redis observation.
      return true;
    case 'inSync':
      return lagOf(o, c.pod, c.masterPod) <= c.maxLagBytes;
    case 'replicaOfPod': {
      const rep = node(o, c.pod)?.replication;
      return rep?.role === 'replica' && rep.masterLinkStatus === 'up' && podForHost(o, rep.masterHost)?.name === c.masterPod;
    }
    case 'clusterRoleAgreed': {
      const views = o.redis.filter((r) => r.reachable && r.clusterNodes);
      return views.length > 0 && views.every((r) => {
        const e = r.clusterNodes?.find((x) => x.id === c.nodeId);
        return !!e && e.role === c.role && !e.failed && (c.role === 'master' || e.masterId === c.masterId);
      });
    }
    case 'sentinelMasterPod': {
      const s = o.sentinels.find((x) => x.pod === c.pod);
      return !!s?.reachable && !!s.master && podForHost(o, s.master.ip)?.name === c.masterPod;
    }
    case 'nodeId':
      return myself(node(o, c.pod))?.id === c.id;
  }
}

/**
 * How many bytes of the replication stream `pod` lacks of `masterPod`'s (Infinity when its link is down, it is
 * not that master's replica, or either does not answer). The two offsets are read at slightly different moments,
 * so a replica of a master under writes is a few bytes behind even when in sync.
 */
export function lagOf(o: Observed, pod: string, masterPod: string): number {
  const rep = node(o, pod)?.replication;
  const m = node(o, masterPod)?.replication;
  if (!rep || !m || !node(o, pod)?.reachable || rep.role !== 'replica' || rep.masterLinkStatus !== 'up' || rep.masterSyncInProgress) return Infinity;
  if (podForHost(o, rep.masterHost)?.name !== masterPod && !replicatesInCluster(o, pod, masterPod)) return Infinity;
  return Math.max(0, m.masterReplOffset - (rep.slaveReplOffset ?? 0));
}

function replicatesInCluster(o: Observed, pod: string, masterPod: string): boolean {
  const me = myself(node(o, pod));
  const master = myself(node(o, masterPod));
  return !!me && !!master && me.masterId === master.id;
}

export function describeCondition(c: Condition): string {
  switch (c.type) {
    case 'reachable': return `${c.pod} answers`;
    case 'clusterOk': return `${c.pod} says cluster_state:ok`;
    case 'role': return `${c.pod} is ${c.equals}`;
    case 'replicaOf': return `${c.pod} replicates ${c.masterId.slice(0, 8)}`;
    case 'replicaOfAddress': return `${c.pod} replicates ${c.host}:${c.port} with the link up`;
    case 'slotOwner': return `slot ${c.slot} is owned by ${c.nodeId.slice(0, 8)}${c.observerPod ? ` as ${c.observerPod} sees it` : ' on every node'}`;
    case 'slotsOwned': return `${c.pod} owns ${c.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`;
    case 'slotUnassigned': return `slot ${c.slot} is unassigned as ${c.pod} sees it`;
    case 'slotStable': return `slot ${c.slot} is stable on ${c.pod}`;
    case 'slotsStable': return `slots ${c.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')} are stable on ${c.pod}`;
    case 'slotsOwnedBy': return `slots ${c.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')} are owned by ${c.nodeIds.map((i) => i.slice(0, 8)).join(' or ')} as ${c.observerPod} sees it`;
    case 'memoryRoom': return `${c.pod} has room for ${Math.ceil(c.bytes / 1024)} KiB more within ${c.percent}% of its maxmemory`;
    case 'slotState': return `slot ${c.slot} is ${c.state} on ${c.pod}`;
    case 'keysInSlot': return `${c.pod} holds ${c.min ?? 0}..${c.max ?? '∞'} keys of slot ${c.slot}`;
    case 'nodeKnown': return `${c.observerPod} knows ${c.nodeId.slice(0, 8)} at ${c.address}`;
    case 'nodeNotKnown': return `${c.observerPod} no longer knows ${c.nodeId.slice(0, 8)}`;
    case 'uniqueConfigEpoch': return `${c.pod} has a config epoch of its own`;
    case 'sentinelMaster': return `sentinel ${c.pod} names ${c.address} master`;
    case 'sentinelKnowsOnly': return `sentinel ${c.pod} knows only live replicas and sentinels`;
    case 'podLabel': return `pod ${c.pod} has ${c.key}=${c.value}`;
    case 'podGone': return `pod ${c.pod} was re-created`;
    case 'annotation': return `${c.object} has ${c.key}=${c.value ?? '(none)'}`;
    case 'deploymentReplicas': return `deployment ${c.name} has ${c.replicas} replicas`;
    case 'inSync': return `${c.pod} is in sync with ${c.masterPod} (at most ${c.maxLagBytes} bytes behind, link up)`;
    case 'replicaOfPod': return `${c.pod} replicates ${c.masterPod} with the link up`;
    case 'clusterRoleAgreed': return `every node sees ${c.nodeId.slice(0, 8)} as ${c.role === 'master' ? 'master' : `replica of ${c.masterId?.slice(0, 8)}`}`;
    case 'sentinelMasterPod': return `sentinel ${c.pod} names ${c.masterPod} master`;
    case 'nodeId': return `${c.pod} has node id ${c.id.slice(0, 8)}`;
  }
}
