// CLUSTER SLOTS reply -> SlotRangeOwner[]. Pure. Each item is [start, end, master, replica...], each node
// [ip, port, id?, metadata?] where 7.x metadata is a flat ['hostname', 'x', ...] array (empty when none).
export interface SlotNode {
  ip: string;
  port: number;
  /** Redis 4+; absent in 3.x. */
  id?: string;
  hostname?: string;
}

export interface SlotRangeOwner {
  start: number;
  end: number;
  master: SlotNode;
  replicas: SlotNode[];
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

function slotNode(value: unknown): SlotNode {
  if (!Array.isArray(value) || value.length < 2) throw new Error('not a CLUSTER SLOTS reply: bad node entry');
  const node: SlotNode = { ip: text(value[0]), port: Number(text(value[1])) };
  const id = text(value[2]);
  if (id !== '') node.id = id;
  const meta = value[3];
  if (Array.isArray(meta)) {
    for (let i = 0; i + 1 < meta.length; i += 2) if (text(meta[i]) === 'hostname' && text(meta[i + 1]) !== '') node.hostname = text(meta[i + 1]);
  }
  return node;
}

export function parseClusterSlots(reply: unknown): SlotRangeOwner[] {
  if (!Array.isArray(reply)) throw new Error('not a CLUSTER SLOTS reply: expected an array');
  return reply
    .map((item): SlotRangeOwner => {
      if (!Array.isArray(item) || item.length < 3) throw new Error('not a CLUSTER SLOTS reply: bad range entry');
      const [start, end, master, ...replicas] = item as unknown[];
      return { start: Number(text(start)), end: Number(text(end)), master: slotNode(master), replicas: replicas.map(slotNode) };
    })
    .sort((a, b) => a.start - b.start);
}
