// `escrow-agent demo`: one whole task lifecycle on a fresh embedded set-up (a relay on 127.0.0.1, the LDK sandbox,
// SQLite, all in a temporary folder), driven by nostr-tools clients the way a poster and a worker would: the poster
// posts and pays from the payer node, the worker claims and submits an invoice from the worker node, the poster
// approves. Prints every agent event as it arrives and a summary; exits 0 only if the worker was paid and the
// settlement's preimage hashes to the invoice's payment hash.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EventTemplate,
  finalizeEvent,
  generateSecretKey,
  getPublicKey,
  type NostrEvent,
} from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';
import type { AgentConfig } from '../../agent/config.ts';
import { identityFrom } from '../../agent/identity.ts';
import { runAgent } from '../../agent/run-agent.ts';
import { formatMsat } from '../../domain/money.ts';
import { Sandbox } from '../../ldk/sandbox/sandbox.ts';
import { type ActionInput, type ActionInputWithout, buildAction } from '../../protocol/build-action.ts';
import { buildListing } from '../../protocol/build-listing.ts';
import { KINDS } from '../../protocol/constants.ts';
import { startEmbeddedRelay } from '../../relay/index.ts';
import { openStore } from '../../store/index.ts';
import type { Output } from '../output.ts';

const AMOUNT_MSAT = 21_000_000n;

export async function demoCommand(config: AgentConfig, output: Output): Promise<number> {
  const folder = await mkdtemp(join(tmpdir(), 'escrow-demo-'));
  const stops: Array<() => Promise<unknown>> = [() => rm(folder, { recursive: true, force: true })];
  try {
    output.out(`demo: a fresh set-up in ${folder}`);
    const relay = await startEmbeddedRelay({ port: 0, dbPath: join(folder, 'relay.sqlite') });
    stops.unshift(() => relay.stop());
    const sandbox = await Sandbox.start({ directory: join(folder, 'sandbox') });
    stops.unshift(() => sandbox.stop());
    const store = await openStore({
      url: `sqlite:${join(folder, 'escrow.db')}`,
      preimageKey: randomBytes(32),
    });
    stops.unshift(() => store.close());
    const agentKey = generateSecretKey();
    const agent = await runAgent({
      store,
      lightning: sandbox.agent,
      identity: identityFrom(agentKey),
      policy: config.policy,
      arbitrators: config.arbitrators,
      relays: [{ url: relay.url, read: true, write: true }],
      reconcileIntervalMs: 500,
      outboxIntervalMs: 100,
    });
    stops.unshift(() => agent.stop());
    output.out(
      `relay ${relay.url}, agent ${agent.ctx.identity.npub}, LDK nodes agent/payer/worker on regtest`,
    );

    useWebSocketImplementation(WebSocket);
    const client = await Relay.connect(relay.url);
    stops.unshift(async () => client.close());
    const poster = generateSecretKey();
    const worker = generateSecretKey();
    const agentPubkey = getPublicKey(agentKey);
    const seen = new Map<string, NostrEvent>();
    const publish = (template: EventTemplate, key: Uint8Array) => {
      const event = finalizeEvent(template, key);
      return client.publish(event).then(() => event);
    };
    // The people's events are built with the protocol module, as any client would build them.
    const act = (input: ActionInputWithout<'agent' | 'createdAt'>, key: Uint8Array) =>
      publish(buildAction({ ...input, agent: agentPubkey, createdAt: now() } as ActionInput), key);

    const listing = await publish(
      buildListing({
        d: 'demo-task',
        title: 'Demo: write a haiku about escrow',
        amountMsat: AMOUNT_MSAT,
        agent: agentPubkey,
        content: 'Five, seven, five.',
        createdAt: now(),
      }),
      poster,
    );
    output.out(`poster  -> listing ${short(listing.id)} for ${formatMsat(AMOUNT_MSAT)}`);
    client.subscribe([{ kinds: [KINDS.label], authors: [agentPubkey], '#e': [listing.id] }], {
      onevent: (event) => {
        const label = event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '?';
        if (seen.has(label)) return;
        seen.set(label, event);
        const details = event.tags
          .filter((tag) =>
            ['amount', 'fee', 'payment_hash', 'preimage', 'reason', 'claim_deadline'].includes(tag[0] ?? ''),
          )
          .map((tag) => `${tag[0]}=${short(tag[1] ?? '')}`)
          .join(' ');
        output.out(`agent   -> ${label.padEnd(10)} ${short(event.id)} ${details}`);
      },
    });
    const waitFor = (label: string) => until(() => seen.get(label), `the agent's "${label}" event`);

    const offered = await waitFor('offered');
    const bolt11 = tagOf(offered, 'bolt11');
    const paymentHash = tagOf(offered, 'payment_hash');
    const fee = BigInt(tagOf(offered, 'fee'));
    output.out('payer   -> pays the hold invoice from the payer node');
    const payment = sandbox.payer.pay({ bolt11, maxFeeMsat: 10_000n, timeoutSeconds: 120 });
    await waitFor('funded');
    await act({ action: 'claim', taskId: listing.id }, worker);
    output.out('worker  -> claims');
    await waitFor('claimed');
    // What the worker's node can still receive shrinks by exactly what it is paid (a direct channel, no routing fee).
    const canReceiveBefore = (await sandbox.worker.getInfo()).remoteBalanceMsat;
    const invoice = await sandbox.worker.createInvoice({
      amountMsat: AMOUNT_MSAT - fee,
      description: 'haiku',
      expirySeconds: 3600,
    });
    await act(
      {
        action: 'submit',
        taskId: listing.id,
        bolt11: invoice.bolt11,
        delivery: 'Hold the sats still / until the work is approved / then they flow onward',
      },
      worker,
    );
    output.out(`worker  -> submits, with an invoice for ${formatMsat(AMOUNT_MSAT - fee)}`);
    await waitFor('submitted');
    await act({ action: 'approve', taskId: listing.id }, poster);
    output.out('poster  -> approves');
    const settled = await waitFor('settled');
    await waitFor('paid');
    const paid = await payment;

    const preimage = tagOf(settled, 'preimage');
    const proof = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') === paymentHash;
    const received = canReceiveBefore - (await sandbox.worker.getInfo()).remoteBalanceMsat;
    const workerPaid = received === AMOUNT_MSAT - fee;
    output.out('');
    output.out(`summary: task ${short(listing.id)} ${seen.has('paid') ? 'paid' : 'NOT paid'}`);
    output.out(`  poster paid ${formatMsat(AMOUNT_MSAT)} (payer node: ${paid.status})`);
    output.out(
      `  worker received ${formatMsat(received)} at its node (owed ${formatMsat(AMOUNT_MSAT - fee)})`,
    );
    output.out(`  agent fee ${formatMsat(fee)}`);
    output.out(`  sha256(preimage) = payment hash: ${proof ? 'yes' : 'NO'}`);
    return workerPaid && proof && paid.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    output.err(`demo failed: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

function now() {
  return Math.floor(Date.now() / 1000);
}

function short(text: string) {
  return text.length > 16 ? `${text.slice(0, 12)}…` : text;
}

function tagOf(event: NostrEvent, name: string): string {
  const value = event.tags.find((tag) => tag[0] === name)?.[1];
  if (value === undefined) throw new Error(`the agent's event has no ${name} tag`);
  return value;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
