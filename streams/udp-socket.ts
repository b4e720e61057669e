/** A dgram socket as a stream of datagrams, plus a sink for replies. Bind errors come back as values. */
import dgram from 'node:dgram';
import { Observable } from 'rxjs';
import type { Datagram } from '../src/protocol/types.js';

export type BoundSocket = { readonly socket: dgram.Socket; readonly address: string; readonly port: number };

export type BindOptions = {
  readonly host: string;
  readonly port: number;
  /** Share the port with other instances (multicast group sockets, the service address after failover). */
  readonly reuseAddr?: boolean;
  /** Join this multicast group on `iface` after binding. */
  readonly group?: { readonly address: string; readonly iface: string };
};

export function bindUdp(opts: BindOptions): Promise<{ ok: true; bound: BoundSocket } | { ok: false; error: string }> {
  const type = opts.host.includes(':') ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, reuseAddr: opts.reuseAddr ?? false });
  return new Promise((resolve) => {
    const onError = (e: Error): void => {
      socket.close();
      resolve({ ok: false, error: `cannot bind UDP ${opts.host}:${opts.port}: ${e.message}` });
    };
    socket.once('error', onError);
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', onError);
      try {
        if (opts.group) {
          socket.addMembership(opts.group.address, opts.group.iface);
          // Replies and forwarded requests must never leave the chosen interface.
          socket.setMulticastInterface(opts.group.iface);
          socket.setMulticastTTL(1);
        }
        socket.setRecvBufferSize(8 * 1024 * 1024);
        socket.setSendBufferSize(8 * 1024 * 1024);
      } catch (e) {
        if (opts.group) {
          socket.close();
          resolve({ ok: false, error: `cannot join group ${opts.group.address} on ${opts.group.iface}: ${(e as Error).message}` });
          return;
        }
      }
      const a = socket.address();
      resolve({ ok: true, bound: { socket, address: a.address, port: a.port } });
    });
  });
}

/** Incoming datagrams. Socket errors after bind (e.g. ICMP-induced) are reported, never fatal. */
export function datagrams(socket: dgram.Socket, onError: (e: Error) => void): Observable<Datagram> {
  return new Observable<Datagram>((sub) => {
    const onMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
      sub.next({ data, from: { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4 } });
    };
    socket.on('message', onMessage);
    socket.on('error', onError);
    return () => {
      socket.off('message', onMessage);
      socket.off('error', onError);
    };
  });
}
