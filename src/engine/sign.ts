// Signs an event template with the agent's key (the secret stays in the identity, never in a log), with
// libsecp256k1 in WebAssembly (src/crypto/schnorr.ts: about 9 times nostr-tools' pure JS, bench/bounds.ts).
import { finalizeEvent } from '../crypto/schnorr.ts';
import type { SignedEvent } from '../store/index.ts';
import type { AgentContext } from './context.ts';

export function sign(ctx: AgentContext, template: Parameters<typeof finalizeEvent>[0]): SignedEvent {
  const event = finalizeEvent(template, ctx.identity.secretKey);
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  };
}
