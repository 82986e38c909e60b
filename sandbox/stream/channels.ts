// The websocket channel protocols of the kubelet's streaming server (k8s.io/apimachinery wsstream):
// every binary message starts with a channel byte. Port-forward (`v4.channel.k8s.io`, what client-node uses):
// port i has data channel 2i and error channel 2i+1, each opened by a message carrying the port as 2 bytes
// little-endian. Exec (`v4`/`v5.channel.k8s.io`, kubectl >= 1.30 and client-node): 0 stdin, 1 stdout, 2 stderr,
// 3 error (a metav1.Status at the end), 4 resize; v5 adds 255, the client's "close stdin" signal.
import type { IncomingMessage } from 'node:http';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ExecRequest, PortForwardRequest } from './types.js';

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'] as const;

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
});

function frame(channel: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), data]);
}

function portBytes(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port, 0);
  return b;
}

function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
  return new Promise((resolve) => wss.handleUpgrade(req, socket, head, resolve));
}

export async function serveChannelPortForward(req: IncomingMessage, socket: Duplex, head: Buffer, pf: PortForwardRequest): Promise<void> {
  const ws = await upgrade(req, socket, head);
  if (pf.ports.length === 0) {
    ws.close(1008, 'query parameter "ports" is required');
    return;
  }
  const conns = pf.ports.map((port, i) => {
    ws.send(frame(2 * i, portBytes(port)));
    ws.send(frame(2 * i + 1, portBytes(port)));
    return pf.dial(port).then(
      (sock) => {
        sock.on('data', (d: Buffer) => {
          if (ws.readyState === ws.OPEN) ws.send(frame(2 * i, d));
        });
        sock.on('end', () => ws.close(1000));
        sock.on('error', (e) => {
          if (ws.readyState === ws.OPEN) ws.send(frame(2 * i + 1, Buffer.from(e.message)));
          ws.close(1000);
        });
        return sock;
      },
      (e: Error) => {
        if (ws.readyState === ws.OPEN) ws.send(frame(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod: ${e.message}`)));
        ws.close(1000);
        return undefined;
      },
    );
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw.toString(), 'base64');
    if (data.length < 1) return;
    const channel = data[0];
    if (channel % 2 !== 0) return; // clients never write on error channels
    const i = channel / 2;
    void conns[i]?.then((sock) => sock?.write(data.subarray(1)));
  });
  ws.on('close', () => {
    for (const c of conns) void c.then((sock) => sock?.destroy());
  });
}

function status(exitCode: number, message?: string): Buffer {
  const body =
    exitCode === 0 && !message
      ? { metadata: {}, status: 'Success' }
      : {
          metadata: {},
          status: 'Failure',
          message: message ?? `command terminated with non-zero exit code: error executing command, exit status ${exitCode}`,
          reason: message ? 'InternalError' : 'NonZeroExitCode',
          details: message ? undefined : { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
        };
  return Buffer.from(JSON.stringify(body));
}

export async function serveChannelExec(req: IncomingMessage, socket: Duplex, head: Buffer, ex: ExecRequest): Promise<void> {
  const ws = await upgrade(req, socket, head);
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const stdin = ex.stdin ? new PassThrough() : null;
  const sink = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (ws.readyState === ws.OPEN) ws.send(frame(channel, chunk), cb);
        else cb();
      },
    });
  ws.on('message', (raw: Buffer) => {
    if (raw.length < 1) return;
    if (raw[0] === 0) stdin?.write(raw.subarray(1));
    else if (v5 && raw[0] === 255 && raw[1] === 0) stdin?.end();
  });
  ws.on('close', () => stdin?.end());
  let code: number;
  let failure: string | undefined;
  try {
    code = await ex.run({ stdin, stdout: sink(1), stderr: sink(ex.tty ? 1 : 2), tty: ex.tty });
  } catch (e) {
    code = 1;
    failure = e instanceof Error ? e.message : String(e);
  }
  if (ws.readyState === ws.OPEN) ws.send(frame(3, status(code, failure)), () => ws.close(1000));
}
