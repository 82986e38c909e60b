// The streaming subresources (pods/portforward, pods/exec) as the API server hands them to sandbox/stream.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExecStdio } from '../core/context.js';

export interface PortForwardRequest {
  /** Ports from the `ports` query parameter (may be empty: then the client names them per stream, as SPDY does). */
  ports: number[];
  dial(port: number): Promise<Socket>;
}

export interface ExecRequest {
  command: string[];
  container?: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  run(stdio: ExecStdio): Promise<number>;
}

/**
 * Handlers take over an HTTP upgrade request (websocket `v4.channel.k8s.io` / `v5.channel.k8s.io`,
 * websocket-tunneled SPDY `SPDY/3.1+portforward.k8s.io`, or a plain SPDY/3.1 upgrade) and serve it until it ends.
 * They write an HTTP error response themselves when the upgrade cannot be served.
 */
export type PortForwardHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, pf: PortForwardRequest) => void;
export type ExecHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, ex: ExecRequest) => void;
