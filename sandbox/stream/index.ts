// The streaming subresources: pick the protocol the client asked for and serve it.
//   websocket + v4/v5.channel.k8s.io      -> channels.ts (client-node port-forward and exec; kubectl exec)
//   websocket + SPDY/3.1+portforward.k8s.io, or a plain SPDY/3.1 upgrade -> spdy.ts (kubectl port-forward)
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { serveChannelExec, serveChannelPortForward } from './channels.js';
import { SPDY_TUNNEL_PROTOCOL, serveSpdyPortForward, serveSpdyTunnelPortForward } from './spdy.js';
import type { ExecHandler, PortForwardHandler } from './types.js';

function reject(socket: Duplex, code: number, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code });
  socket.end(`HTTP/1.1 ${code} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function offered(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function isWebsocket(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function isSpdy(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
}

export const handlePortForward: PortForwardHandler = (req, socket, head, pf) => {
  if (isWebsocket(req) && offered(req).includes(SPDY_TUNNEL_PROTOCOL)) {
    serveSpdyTunnelPortForward(req, socket, head, pf);
    return;
  }
  if (isWebsocket(req) && offered(req).some((p) => /channel\.k8s\.io$/.test(p))) {
    void serveChannelPortForward(req, socket, head, pf);
    return;
  }
  if (isSpdy(req)) {
    serveSpdyPortForward(req, socket, head, pf);
    return;
  }
  reject(socket, 400, `unsupported streaming protocol for port-forward: ${req.headers.upgrade ?? 'none'} ${offered(req).join(',')}`);
};

export const handleExec: ExecHandler = (req, socket, head, ex) => {
  if (isWebsocket(req) && offered(req).some((p) => /channel\.k8s\.io$/.test(p))) {
    void serveChannelExec(req, socket, head, ex);
    return;
  }
  reject(socket, 400, `unsupported streaming protocol for exec: ${req.headers.upgrade ?? 'none'} ${offered(req).join(',')}`);
};
