// CLUSTER SHARDS reply (Redis 7+) -> ClusterShard[]. Pure. ioredis returns each shard as a flat
// ['slots', [start, end, ...], 'nodes', [[field, value, ...], ...]] array.
export interface ClusterShardNode {
  id: string;
  ip: string;
  /** Plain port; absent when the node serves TLS only. */
  port?: number;
  tlsPort?: number;
  endpoint: string;
  hostname?: string;
  role: 'master' | 'replica';
  replicationOffset: number;
  /** 'online' | 'failed' | 'loading' (kept as Redis says it). */
  health: string;
}

export interface ClusterShard {
  slots: Array<[number, number]>;
  nodes: ClusterShardNode[];
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

function pairs(value: unknown, what: string): Map<string, unknown> {
  if (!Array.isArray(value) || value.length % 2 !== 0) throw new Error(`not a CLUSTER SHARDS reply: bad ${what}`);
  const map = new Map<string, unknown>();
  for (let i = 0; i < value.length; i += 2) map.set(text(value[i]), value[i + 1]);
  return map;
}

function optionalInt(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(text(value));
  return Number.isInteger(n) ? n : undefined;
}

export function parseClusterShards(reply: unknown): ClusterShard[] {
  if (!Array.isArray(reply)) throw new Error('not a CLUSTER SHARDS reply: expected an array');
  return reply.map((shardReply) => {
    const shard = pairs(shardReply, 'shard');
    const flat = shard.get('slots');
    const slots: Array<[number, number]> = [];
    if (Array.isArray(flat)) {
      for (let i = 0; i + 1 < flat.length; i += 2) slots.push([Number(text(flat[i])), Number(text(flat[i + 1]))]);
    }
    const nodeReplies = shard.get('nodes');
    const nodes = (Array.isArray(nodeReplies) ? nodeReplies : []).map((n): ClusterShardNode => {
      const f = pairs(n, 'node');
      const node: ClusterShardNode = {
        id: text(f.get('id')),
        ip: text(f.get('ip')),
        endpoint: text(f.get('endpoint')),
        role: text(f.get('role')) === 'master' ? 'master' : 'replica',
        replicationOffset: optionalInt(f.get('replication-offset')) ?? 0,
        health: text(f.get('health')),
      };
      const port = optionalInt(f.get('port'));
      if (port !== undefined) node.port = port;
      const tlsPort = optionalInt(f.get('tls-port'));
      if (tlsPort !== undefined) node.tlsPort = tlsPort;
      const hostname = text(f.get('hostname'));
      if (hostname !== '') node.hostname = hostname;
      return node;
    });
    return { slots: slots.sort((a, b) => a[0] - b[0]), nodes };
  });
}
