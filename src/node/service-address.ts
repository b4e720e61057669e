/**
 * The unicast service address follows the Master role: only the Master binds it, and every reply leaves from it
 * (strict clients accept replies only from the address they sent to). A new Master waits the fence before it
 * binds (see domain/timing.ts: the deposed one has stopped answering by then).
 */
import type dgram from 'node:dgram';
import { firstValueFrom, type SchedulerLike, timer } from 'rxjs';
import { bindUdp } from '../../streams/udp-socket.js';

export type ServiceAddress = {
  /** The socket replies leave from, or null while this instance does not hold the address. */
  current(): dgram.Socket | null;
  /**
   * Take or release the address. `fenced: false` skips the fence: for a Master taking its role back in the same
   * epoch after a broker switch, having heard for a whole resume window that nobody else took over.
   */
  hold(want: boolean, fenced?: boolean): Promise<void>;
};

export type ServiceAddressDeps = {
  readonly host: string;
  readonly port: number;
  readonly fenceMs: number;
  readonly scheduler: SchedulerLike;
  /** A lone instance's own socket: held from the start, never released. */
  readonly fixed: dgram.Socket | null;
  /** Called with each newly bound socket, so its datagrams reach the ingress. */
  readonly onBound: (socket: dgram.Socket) => void;
  readonly log: (line: string) => void;
};

export function serviceAddress(deps: ServiceAddressDeps): ServiceAddress {
  let socket = deps.fixed;
  let wanted = false;
  const take = async (fenced: boolean): Promise<void> => {
    if (fenced) await firstValueFrom(timer(deps.fenceMs, deps.scheduler));
    if (!wanted || socket) return;
    const b = await bindUdp({ host: deps.host, port: deps.port, reuseAddr: true });
    if (!b.ok) return deps.log(`cannot take the service address: ${b.error}`);
    if (!wanted) return void b.bound.socket.close();
    socket = b.bound.socket;
    deps.onBound(socket);
    deps.log(`holding the service address udp://${deps.host}:${deps.port}`);
  };
  return {
    current: () => socket,
    async hold(want, fenced = true) {
      if (deps.fixed) return;
      wanted = want;
      if (want && !socket) return take(fenced);
      if (!want && socket) {
        const s = socket;
        socket = null;
        s.close();
        deps.log('released the service address');
      }
    },
  };
}
