/** A cluster message out on the topic, signed; nothing while this instance is cut off (a simulated failure). */
import type { ClusterMessage } from '../bus/messages.js';
import type { Ctx } from './handlers.js';

export const publish = (ctx: Ctx, m: ClusterMessage): void => {
  if (!ctx.state.cut) ctx.transport.publish(ctx.signer.sign(m));
};
