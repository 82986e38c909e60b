// A PodDialer over the API server's port-forward: for each (namespace, pod, port) one local TCP server on
// 127.0.0.1:0; every connection accepted there opens its own port-forward websocket (as `kubectl port-forward`
// does per connection), so ioredis can open and close connections freely.
import * as k8s from '@kubernetes/client-node';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { LocalEndpoint, PodDialer } from '../redis/types.js';
import type { KubeClient } from './client.js';

interface Forward {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  /** Endpoints handed out and not closed yet: the listener closes with the last one (observe closes its own
   * endpoint while a session's cached connection to the same pod port is still in use). */
  refs: number;
  /** Connections the far side failed, and the last reason, for the caller's error message. */
  failures: { count: number; last?: string };
  /** The port-forward websockets open for this forward's connections (closed with it). */
  webSockets: Set<{ close(): void; terminate?(): void }>;
}

export class PortForwardDialer implements PodDialer {
  private readonly forwards = new Map<string, Promise<Forward>>();
  private readonly portForward: k8s.PortForward;

  constructor(kube: Pick<KubeClient, 'kc'>) {
    this.portForward = new k8s.PortForward(kube.kc);
  }

  async open(namespace: string, pod: string, port: number): Promise<LocalEndpoint> {
    const key = `${namespace}/${pod}:${port}`;
    let pending = this.forwards.get(key);
    if (!pending) {
      pending = this.listen(namespace, pod, port);
      this.forwards.set(key, pending);
      pending.catch(() => this.forwards.delete(key));
    }
    const forward = await pending;
    forward.refs++;
    let closed = false;
    return {
      host: '127.0.0.1',
      port: forward.port,
      get forwardFailures() {
        return { ...forward.failures };
      },
      close: async () => {
        if (closed) return;
        closed = true;
        forward.refs--;
        if (forward.refs <= 0 && this.forwards.get(key) === pending) await this.closeOne(key);
      },
    };
  }

  private connect(forward: Forward, namespace: string, pod: string, port: number, socket: Socket): void {
    forward.sockets.add(socket);
    socket.on('close', () => forward.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let failed = false;
    const fail = (why: string): void => {
      if (!failed) forward.failures = { count: forward.failures.count + 1, last: why };
      failed = true;
    };
    const errors = new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = chunk.toString('utf8').trim();
        // the error channel carries only the port number until something fails
        if (text) {
          fail(text);
          socket.destroy();
        }
        done();
      },
    });
    socket.pause();
    this.portForward
      .portForward(namespace, pod, [port], socket, errors, socket)
      .then((ws) => {
        const webSocket = ws as { on(event: string, fn: (...args: unknown[]) => void): void; close(): void; terminate?(): void; readyState: number };
        // the local side gave up first (connectPod's deadline, under load): a websocket opened now would stay open
        // with nothing on it, and keep the process alive after its work is done
        if (socket.destroyed) {
          (webSocket.terminate ?? webSocket.close).call(webSocket);
          return;
        }
        forward.webSockets.add(webSocket);
        webSocket.on('close', () => {
          forward.webSockets.delete(webSocket);
          socket.end();
        });
        webSocket.on('error', (e) => {
          fail((e as Error).message);
          socket.destroy();
        });
        socket.on('close', () => webSocket.close());
        socket.resume();
      })
      .catch((e: unknown) => {
        fail((e as Error).message?.split('\n')[0] ?? String(e));
        socket.destroy();
      });
  }

  private listen(namespace: string, pod: string, port: number): Promise<Forward> {
    return new Promise((resolvePromise, reject) => {
      const forward: Forward = { server: createServer(), port: 0, sockets: new Set(), refs: 0, failures: { count: 0 }, webSockets: new Set() };
      forward.server.on('connection', (socket: Socket) => this.connect(forward, namespace, pod, port, socket));
      forward.server.once('error', reject);
      forward.server.listen(0, '127.0.0.1', () => {
        const address = forward.server.address();
        forward.port = typeof address === 'object' && address ? address.port : 0;
        forward.server.unref();
        resolvePromise(forward);
      });
    });
  }

  private async closeOne(key: string): Promise<void> {
    const pending = this.forwards.get(key);
    if (!pending) return;
    this.forwards.delete(key);
    const forward = await pending.catch(() => undefined);
    if (!forward) return;
    for (const socket of forward.sockets) socket.destroy();
    for (const ws of forward.webSockets) (ws.terminate ?? ws.close).call(ws);
    forward.webSockets.clear();
    await new Promise<void>((r) => forward.server.close(() => r()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.forwards.keys()].map((key) => this.closeOne(key)));
  }
}
