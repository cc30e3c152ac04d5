// Opening the sandbox's two channels (payer -> agent, agent -> worker), funded by transactions the sandbox
// mines itself. Idempotent: a pair that already has a channel (open or pending) is left alone.
import { randomBytes } from 'node:crypto';
import type * as ldk from 'lightningdevkit';
import { fundingTransaction } from './bitcoin-encoding.ts';
import { toHex } from './bytes.ts';
import { CHANNEL_CONFIRMATIONS } from './node-config.ts';
import type { RegtestChain } from './regtest-chain.ts';
import type { SandboxBackend } from './sandbox-backend.ts';

const STEP_TIMEOUT_MS = 15_000;

/** Handles FundingGenerationReady for `from`: a funding transaction with a dummy segwit input. */
export function fundChannel(from: SandboxBackend, event: ldk.Event_FundingGenerationReady): void {
  const transaction = fundingTransaction(
    event.output_script,
    event.channel_value_satoshis,
    new Uint8Array(randomBytes(32)),
  );
  // Called from the event handler: the loop writes the manager right after the event batch.
  const result = from.node.manager.funding_transaction_generated(
    event.temporary_channel_id,
    event.counterparty_node_id,
    transaction,
  );
  if (!result.is_ok()) throw new Error(`${from.name}: LDK refused the funding transaction`);
  from.node.kick();
}

export interface ChannelPlan {
  from: SandboxBackend;
  to: SandboxBackend;
  capacitySat: bigint;
}

export async function openChannels(
  plans: readonly ChannelPlan[],
  chain: RegtestChain,
  mine: (blocks: number) => void,
): Promise<void> {
  const opening = plans.filter(
    ({ from, to }) =>
      from.node.manager.list_channels_with_counterparty(Buffer.from(to.nodeId, 'hex')).length === 0,
  );
  if (opening.length === 0) return;
  for (const { from, to, capacitySat } of opening) {
    await expect(
      from.waitUntil(() => from.node.isConnectedTo(to.nodeId), STEP_TIMEOUT_MS),
      `${from.name} connects to ${to.name}`,
    );
    const created = from.node.change((manager) =>
      manager.create_channel(Buffer.from(to.nodeId, 'hex'), capacitySat, 0n, 0n, null, null),
    );
    if (!created.is_ok()) throw new Error(`${from.name} cannot open a channel to ${to.name}`);
  }
  // The funder broadcasts once its peer has signed; only then is there something to confirm. Each funding
  // transaction is looked for by its id: a count of the mempool could be met by other transactions (on-chain
  // claims rebroadcast after a crash) before the funding is there, and the funding would never be mined.
  const broadcast = () =>
    opening.every(({ from, to }) =>
      from.node.manager.list_channels_with_counterparty(Buffer.from(to.nodeId, 'hex')).some((channel) => {
        const funding = channel.get_funding_txo();
        return funding !== null && chain.knows(toHex(funding.get_txid()));
      }),
    );
  await expect(opening[0]!.from.waitUntil(broadcast, STEP_TIMEOUT_MS), 'funding transactions are broadcast');
  mine(CHANNEL_CONFIRMATIONS);
}

/**
 * Waits until every planned channel is usable from both ends (peers connected, channel_ready exchanged).
 * Returns the plans whose channel is gone instead (closed while the sandbox was down, or force-closed on
 * reconnection), so the caller can replace them.
 */
export async function awaitUsableChannels(
  plans: readonly ChannelPlan[],
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<ChannelPlan[]> {
  const closed: ChannelPlan[] = [];
  for (const plan of plans) {
    const { from, to } = plan;
    const settled = () => {
      if (!hasChannel(from, to) || !hasChannel(to, from)) return 'closed';
      return isUsable(from, to) && isUsable(to, from) ? 'usable' : undefined;
    };
    const outcome = await from.waitFor(settled, timeoutMs);
    if (outcome === undefined)
      throw new Error(`sandbox: timed out waiting until ${from.name} -> ${to.name} is usable`);
    if (outcome === 'closed') closed.push(plan);
  }
  return closed;
}

function hasChannel(node: SandboxBackend, peer: SandboxBackend): boolean {
  return node.node.manager.list_channels_with_counterparty(Buffer.from(peer.nodeId, 'hex')).length > 0;
}

function isUsable(node: SandboxBackend, peer: SandboxBackend): boolean {
  return node.node.manager
    .list_usable_channels()
    .some((channel) => Buffer.from(channel.get_counterparty().get_node_id()).toString('hex') === peer.nodeId);
}

async function expect(condition: Promise<boolean>, what: string): Promise<void> {
  if (!(await condition)) throw new Error(`sandbox: timed out waiting until ${what}`);
}
