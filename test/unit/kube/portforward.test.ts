import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { PortForwardDialer } from '../../../src/kube/portforward.js';
import { connectPod } from '../../../src/redis/connect.js';
import { startLocalApi } from './local-api.js';

/** Speaks the API server's side of v4.channel.k8s.io port-forward: echoes data upper-cased, or fails with an error. */
function attachPortForward(server: import('node:http').Server, seen: string[]): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      seen.push(req.url ?? '');
      const port = Number(new URL(req.url ?? '', 'http://x').searchParams.get('ports'));
      const portBytes = (channel: number) => Buffer.from([channel, port & 0xff, port >> 8]);
      ws.send(portBytes(0));
      ws.send(portBytes(1));
      if ((req.url ?? '').includes('/pods/broken/')) {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('error forwarding port 6379: connection refused')]));
        return;
      }
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0 && data.length > 1) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(data.subarray(1).toString().toUpperCase())]));
      });
    });
  });
  return wss;
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) {
        socket.end();
        resolve(got);
      }
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

test('each connection to the local port opens its own port-forward to the pod; closeAll stops listening', async () => {
  const seen: string[] = [];
  const api = await startLocalApi((_req, res) => res.writeHead(404).end());
  const wss = attachPortForward(api.server, seen);
  const dialer = new PortForwardDialer(api.kube);
  try {
    const endpoint = await dialer.open('redis', 'orders-leader-0', 6379);
    assert.equal(endpoint.host, '127.0.0.1');
    assert.ok(endpoint.port > 0);
    assert.equal((await dialer.open('redis', 'orders-leader-0', 6379)).port, endpoint.port, 'the same pod port reuses its listener');
    assert.equal(await roundTrip(endpoint.port, 'ping\r\n'), 'PING\r\n');
    assert.equal(await roundTrip(endpoint.port, 'info\r\n'), 'INFO\r\n');
    assert.deepEqual(seen, ['/api/v1/namespaces/redis/pods/orders-leader-0/portforward?ports=6379', '/api/v1/namespaces/redis/pods/orders-leader-0/portforward?ports=6379']);

    const broken = await dialer.open('redis', 'broken', 6379);
    assert.equal(await roundTrip(broken.port, 'ping\r\n'), '', 'a failed forward closes the local connection');
    assert.equal(broken.forwardFailures?.count, 1, 'the failure is counted on the endpoint');
    assert.match(broken.forwardFailures?.last ?? '', /^error forwarding port 6379: connection refused/);
    assert.equal(endpoint.forwardFailures?.count, 0, 'a working pod port counts none');

    await dialer.closeAll();
    await assert.rejects(roundTrip(endpoint.port, 'x'), /ECONNREFUSED/);
  } finally {
    await dialer.closeAll();
    wss.close();
    await api.close();
  }
});

test('connectPod through a port-forward whose far side refuses says so, not "it probably requires TLS"', async () => {
  const api = await startLocalApi((_req, res) => res.writeHead(404).end());
  const wss = attachPortForward(api.server, []);
  const dialer = new PortForwardDialer(api.kube);
  try {
    const err = await connectPod({ namespace: 'redis', pod: 'broken', port: 6379, dialer, timeoutMs: 1500 }).then(
      () => assert.fail('connected to a pod whose port-forward fails'),
      (e: unknown) => e as Error,
    );
    assert.equal(err.message, 'Redis in pod redis/broken could not be reached on port 6379 through the port-forward: error forwarding port 6379: connection refused');
    assert.doesNotMatch(err.message, /TLS/);
  } finally {
    await dialer.closeAll();
    wss.close();
    await api.close();
  }
});
