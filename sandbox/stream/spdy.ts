// SPDY/3.1 port-forward, as the kubelet serves it (k8s.io/apimachinery util/httpstream/spdy over moby/spdystream,
// kubelet cri streaming portforward/httpstream.go). Two transports carry the same byte stream of SPDY frames:
//   - a plain HTTP upgrade (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`): kubectl <= 1.30,
//     and kubectl >= 1.31 when the websocket upgrade fails;
//   - a websocket with subprotocol `SPDY/3.1+portforward.k8s.io`, the frames in binary messages (the tunneling of
//     KEP-4006, what kubectl >= 1.31 tries first). Message boundaries carry no meaning: the client reads a byte stream.
// Frames (spdy/types.go, read.go, write.go): control frames start with 0x8003 (control bit + version 3), then
// type (16 bits), flags (8) and length (24); data frames with the stream id (31 bits), then flags (8) and length (24).
// Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib-compressed with SPDY/3's dictionary, one compression
// context per direction for the whole connection, each block ended by a sync flush.
// Port-forward protocol v1 (portforward.k8s.io): per forwarded connection the client opens a stream with headers
// `streamtype: error` and one with `streamtype: data`, both with `port` and `requestid`; the server replies to
// each, dials the pod's port once it has the pair, pipes the data stream, writes any failure as text on the error
// stream and closes (FIN) both when the forwarded connection ends.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { constants as zc, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PortForwardRequest } from './types.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const SPDY_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** SPDY/3's zlib dictionary for header blocks (moby/spdystream spdy/dictionary.go), base64. */
const HEADER_DICTIONARY = Buffer.from(
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0' +
  'AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9y' +
  'aXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29u' +
  'dGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFu' +
  'Z2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0' +
  'Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxh' +
  'c3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHkt' +
  'YXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRy' +
  'YW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50' +
  'aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1Ymxp' +
  'YwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAy' +
  'NDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9u' +
  'MjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQw' +
  'NCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFu' +
  'IEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBT' +
  'YXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxp' +
  'Y2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2Rj' +
  'aGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==',
  'base64',
);

const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes (spdy/types.go). */
const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6, STREAM_ALREADY_CLOSED: 9 } as const;
const MAX_DATA = 0xffffff;
/** How long the kubelet waits for the second stream of a pair (its streamCreationTimeout). */
const PAIR_TIMEOUT_MS = 30_000;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into SPDY frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buf.length >= 8) {
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + length) break;
      const flags = this.buf[4];
      const payload = this.buf.subarray(8, 8 + length);
      if (this.buf[0] & 0x80) {
        const version = this.buf.readUInt16BE(0) & 0x7fff;
        if (version !== 3) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ kind: 'control', type: this.buf.readUInt16BE(2), flags, payload });
      } else {
        frames.push({ kind: 'data', streamId: this.buf.readUInt32BE(0) & 0x7fffffff, flags, data: payload });
      }
      this.buf = this.buf.subarray(8 + length);
    }
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** A header block, uncompressed: count, then (name length, name, value length, value); values NUL-separated. */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let off = 0;
  const take = (): Buffer => {
    if (off + 4 > b.length) throw new Error('truncated SPDY header block');
    const len = b.readUInt32BE(off);
    off += 4;
    if (off + len > b.length) throw new Error('truncated SPDY header block');
    const s = b.subarray(off, off + len);
    off += len;
    return s;
  };
  if (b.length < 4) throw new Error('truncated SPDY header block');
  const count = b.readUInt32BE(0);
  off = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8').toLowerCase();
    // Repeated values are joined by NUL; port-forward's headers are single-valued, keep the first.
    headers[name] = take().toString('utf8').split('\0')[0];
  }
  return headers;
}

/** Runs one zlib operation through a persistent stream and returns its output up to a sync flush. */
function zflush(z: Deflate | Inflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (d: Buffer): void => void out.push(d);
    const onError = (e: Error): void => {
      z.off('data', onData);
      reject(e);
    };
    z.on('data', onData);
    z.once('error', onError);
    if (input.length) z.write(input);
    z.flush(zc.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', onError);
      resolve(Buffer.concat(out));
    });
  });
}

/** One direction-pair of header compression for a connection (the client's and ours). */
export class HeaderCodec {
  private readonly inflater = createInflate({ dictionary: HEADER_DICTIONARY });
  private readonly deflater = createDeflate({ dictionary: HEADER_DICTIONARY, level: zc.Z_BEST_COMPRESSION });

  async decode(compressed: Buffer): Promise<Record<string, string>> {
    return decodeHeaderBlock(await zflush(this.inflater, compressed));
  }

  encode(headers: Record<string, string>): Promise<Buffer> {
    return zflush(this.deflater, encodeHeaderBlock(headers));
  }

  close(): void {
    this.inflater.destroy();
    this.deflater.destroy();
  }
}

/** The byte pipe the frames travel on (a raw upgraded socket, or a websocket). */
interface Transport {
  write(b: Buffer): void;
  close(): void;
}

interface Stream {
  id: number;
  headers: Record<string, string>;
  /** The client has sent FIN (or the stream was reset). */
  remoteClosed: boolean;
  /** We have sent FIN (or RST). */
  localClosed: boolean;
  /** The forwarded connection this stream belongs to. */
  pair?: Pair;
}

interface Pair {
  requestId: string;
  port: number;
  error?: Stream;
  data?: Stream;
  timer?: NodeJS.Timeout;
  sock?: Socket;
  /** Client->pod bytes that arrived before the pod connection was up. */
  pending: Buffer[];
  pendingEnd: boolean;
  done: boolean;
}

/** The server half of one SPDY port-forward connection. */
export class SpdyPortForwardSession {
  private readonly reader = new FrameReader();
  private readonly codec = new HeaderCodec();
  private readonly streams = new Map<number, Stream>();
  private readonly pairs = new Map<string, Pair>();
  /** Frames go out in order; header compression is asynchronous, so every frame goes through this chain. */
  private out: Promise<void> = Promise.resolve();
  /** Incoming frames are handled in order; header decompression is asynchronous. */
  private inbound: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly pf: PortForwardRequest,
  ) {}

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      this.close();
      return;
    }
    for (const f of frames) {
      this.inbound = this.inbound.then(() => this.handle(f)).catch(() => this.close());
    }
  }

  /** The transport has gone: drop every forwarded connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pairs.values()) this.finish(p);
    this.pairs.clear();
    this.streams.clear();
    this.codec.close();
    this.transport.close();
  }

  private send(build: () => Buffer | Promise<Buffer>): void {
    this.out = this.out
      .then(async () => {
        if (this.closed) return;
        const b = await build();
        if (!this.closed) this.transport.write(b);
      })
      .catch(() => this.close());
  }

  private async handle(f: Frame): Promise<void> {
    if (this.closed) return;
    if (f.kind === 'data') return this.onData(f.streamId, f.flags, f.data);
    const p = f.payload;
    switch (f.type) {
      case TYPE.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // Decompress even if the stream is refused: the zlib context spans the connection.
        const headers = await this.codec.decode(p.subarray(10));
        return this.onSynStream(id, f.flags, headers);
      }
      case TYPE.HEADERS:
        await this.codec.decode(p.subarray(4));
        return;
      case TYPE.SYN_REPLY:
        await this.codec.decode(p.subarray(4));
        return;
      case TYPE.RST_STREAM:
        return this.onReset(p.readUInt32BE(0) & 0x7fffffff);
      case TYPE.PING:
        // Pings the client started (odd ids) are echoed (spdystream handlePingFrame).
        this.send(() => controlFrame(TYPE.PING, 0, Buffer.from(p.subarray(0, 4))));
        return;
      case TYPE.GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE (spdystream does no flow control) and anything unknown: ignored.
        return;
    }
  }

  private reset(id: number, status: number): void {
    this.send(() => controlFrame(TYPE.RST_STREAM, 0, u32(id, status)));
  }

  private onSynStream(id: number, flags: number, headers: Record<string, string>): void {
    if (id === 0 || id % 2 === 0 || id <= this.lastStreamId || this.streams.has(id)) {
      this.reset(id, RST.PROTOCOL_ERROR);
      return;
    }
    this.lastStreamId = id;
    const type = headers.streamtype;
    const port = Number(headers.port);
    if ((type !== 'error' && type !== 'data') || !headers.port || !Number.isInteger(port) || port <= 0 || port > 65535) {
      // The kubelet rejects such a stream (stream.Reset) before replying.
      this.reset(id, RST.REFUSED_STREAM);
      return;
    }
    const stream: Stream = { id, headers, remoteClosed: (flags & FLAG_FIN) !== 0, localClosed: false };
    this.streams.set(id, stream);
    // Older clients send no requestid: pair the error stream N with the data stream N+2 (kubelet httpstream.go).
    const requestId = headers.requestid || String(type === 'error' ? id : id - 2);
    let pair = this.pairs.get(requestId);
    if (!pair) {
      pair = { requestId, port, pending: [], pendingEnd: false, done: false };
      this.pairs.set(requestId, pair);
      const p = pair;
      pair.timer = setTimeout(() => this.pairTimeout(p), PAIR_TIMEOUT_MS);
      pair.timer.unref();
    }
    if (pair[type]) {
      // A second stream of the same type for one request.
      this.streams.delete(id);
      this.reset(id, RST.PROTOCOL_ERROR);
      return;
    }
    pair[type] = stream;
    stream.pair = pair;
    this.send(async () => controlFrame(TYPE.SYN_REPLY, 0, Buffer.concat([u32(id), await this.codec.encode({})])));
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      this.forward(pair);
    }
  }

  private pairTimeout(p: Pair): void {
    if (p.done || (p.error && p.data)) return;
    const missing = p.error ? 'data' : 'error';
    if (p.error) this.write(p.error, Buffer.from(`timed out waiting for the ${missing} stream for request ${p.requestId}`));
    this.finish(p);
  }

  private forward(p: Pair): void {
    const dataStream = p.data!;
    const errorStream = p.error!;
    this.pf.dial(p.port).then(
      (sock) => {
        if (p.done || this.closed) {
          sock.destroy();
          return;
        }
        p.sock = sock;
        sock.setNoDelay(true);
        for (const b of p.pending) sock.write(b);
        p.pending = [];
        if (p.pendingEnd || dataStream.remoteClosed) sock.end();
        sock.on('data', (d: Buffer) => {
          for (let off = 0; off < d.length; off += MAX_DATA) this.write(dataStream, d.subarray(off, off + MAX_DATA));
        });
        sock.on('end', () => this.finish(p));
        sock.on('error', (e: Error) => {
          if (!p.done) this.write(errorStream, Buffer.from(`error forwarding port ${p.port} to pod: ${e.message}`));
          this.finish(p);
        });
        sock.on('close', () => this.finish(p));
      },
      (e: unknown) => {
        // PodRuntime.dial's message already reads like the kubelet's ("error forwarding port N to pod P: ...").
        const message = e instanceof Error ? e.message : String(e);
        this.write(errorStream, Buffer.from(/^error forwarding port/.test(message) ? message : `error forwarding port ${p.port} to pod: ${message}`));
        this.finish(p);
      },
    );
  }

  private write(s: Stream, data: Buffer): void {
    if (s.localClosed || this.closed) return;
    this.send(() => dataFrame(s.id, 0, data));
  }

  private fin(s: Stream | undefined): void {
    if (!s || s.localClosed) return;
    s.localClosed = true;
    this.send(() => dataFrame(s.id, FLAG_FIN, Buffer.alloc(0)));
    this.forget(s);
  }

  private forget(s: Stream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  /** The forwarded connection is over: FIN the data stream, then the error stream (kubelet's deferred Closes). */
  private finish(p: Pair): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    this.pairs.delete(p.requestId);
    this.fin(p.data);
    this.fin(p.error);
    p.sock?.destroy();
  }

  private onData(id: number, flags: number, data: Buffer): void {
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastStreamId) this.reset(id, RST.INVALID_STREAM);
      return;
    }
    const p = s.pair;
    if (p && s === p.data && data.length > 0) {
      if (p.sock) p.sock.write(data);
      else if (!p.done) p.pending.push(data);
    }
    // Clients never write on error streams (kubectl closes its side right away); ignore what they would.
    if (flags & FLAG_FIN) {
      s.remoteClosed = true;
      if (p && s === p.data) {
        // The client is done sending: half-close the pod connection, keep relaying its answers.
        if (p.sock) p.sock.end();
        else p.pendingEnd = true;
      }
      this.forget(s);
    }
  }

  private onReset(id: number): void {
    const s = this.streams.get(id);
    if (!s) return;
    s.remoteClosed = true;
    s.localClosed = true;
    this.streams.delete(id);
    if (s.pair) this.finish(s.pair);
  }
}

// `SPDY/3.1+portforward.k8s.io` is not an RFC 7230 token ('/'), which ws refuses in Sec-WebSocket-Protocol (400
// "Invalid Sec-WebSocket-Protocol header"); gorilla/websocket, on both ends of the real thing, does not check.
// The request's header is swapped for a token ws accepts, and the answer names the real subprotocol.
const TUNNEL_TOKEN = 'spdy-3.1-portforward-tunnel';

const tunnelServer = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (offered) => (offered.has(TUNNEL_TOKEN) ? SPDY_TUNNEL_PROTOCOL : false),
});

/** Websocket-tunneled SPDY (`SPDY/3.1+portforward.k8s.io`): every websocket binary message carries SPDY bytes. */
export function serveSpdyTunnelPortForward(req: IncomingMessage, socket: Duplex, head: Buffer, pf: PortForwardRequest): void {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (offered.includes(SPDY_TUNNEL_PROTOCOL)) req.headers['sec-websocket-protocol'] = TUNNEL_TOKEN;
  tunnelServer.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    const session = new SpdyPortForwardSession(
      {
        write: (b) => {
          if (ws.readyState === ws.OPEN) ws.send(b, { binary: true });
        },
        close: () => {
          if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
        },
      },
      pf,
    );
    ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[]) => {
      session.receive(Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
    });
    ws.on('close', () => session.close());
    ws.on('error', () => session.close());
  });
}

function offeredVersions(req: IncomingMessage): string[] {
  const h = req.headers['x-stream-protocol-version'];
  return (Array.isArray(h) ? h : [h ?? ''])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A plain SPDY/3.1 HTTP upgrade (apimachinery httpstream.Handshake + spdy.NewResponseUpgrader). */
export function serveSpdyPortForward(req: IncomingMessage, socket: Duplex, head: Buffer, pf: PortForwardRequest): void {
  const versions = offeredVersions(req);
  if (versions.length > 0 && !versions.includes(PORT_FORWARD_PROTOCOL)) {
    const body = `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(versions)}, server supports ["${PORT_FORWARD_PROTOCOL}"]`;
    socket.end(
      `HTTP/1.1 403 Forbidden\r\nX-Accepted-Stream-Protocol-Versions: ${PORT_FORWARD_PROTOCOL}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    return;
  }
  const session = new SpdyPortForwardSession(
    {
      write: (b) => {
        if (!socket.destroyed) socket.write(b);
      },
      close: () => {
        if (!socket.destroyed) socket.end();
      },
    },
    pf,
  );
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      (versions.length > 0 ? `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n` : '') +
      '\r\n',
  );
  socket.on('data', (c: Buffer) => session.receive(c));
  socket.on('end', () => session.close());
  socket.on('close', () => session.close());
  socket.on('error', () => session.close());
  if (head.length) session.receive(head);
}
