/** What actors hand each other inside one process. */
import type { Change } from '../src/domain/types.js';

/**
 * A change plus, on the Master, the client waiting for it. The client is opaque to the actors: each frontend
 * (UDP, HTTP) puts its own in and encodes its own reply. Slaves get changes without clients.
 */
export type Proposal<C = unknown> = { readonly change: Change; readonly client: C | null };
