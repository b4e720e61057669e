/** Routing headers and the subscription selector that keep useless cluster deliveries off the wire. */
import type { ClusterMessage } from './messages.js';

/**
 * Half of a round's deliveries on a plain topic are of no use to their receiver: its own PREPARE and COMMIT
 * echoed back, and every vote reaching every Slave. Routing headers let the broker leave them out. Own keepalives
 * still come back (they prove the path through the broker works, and one with a foreign nonce reveals a duplicate
 * ID), and so do own COORDINATORs (the echo confirms a claim: actors/election.ts). Messages without the headers
 * (strangers, other tools) are all delivered and judged as before; the headers are not signed, so they only ever
 * decide what is left out, never what is believed.
 */
export function routing(self: number): { selector: string; headers: (m: ClusterMessage) => Record<string, string> } {
  return {
    selector:
      `(trackerFrom IS NULL OR trackerFrom <> '${self}' OR trackerType IN ('keepalive', 'coordinator'))` +
      ` AND (trackerTo IS NULL OR trackerTo = '${self}')`,
    headers: (m) => ({ trackerFrom: String(m.from), trackerType: m.type, ...('to' in m ? { trackerTo: String(m.to) } : {}) }),
  };
}
