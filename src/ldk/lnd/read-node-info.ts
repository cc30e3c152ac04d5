// getInfo(): the node's identity and height (GetInfo, info:read) and what each channel can send and receive
// now (ListChannels, offchain:read). LND reports channel balances in whole sat and includes the reserve each
// side must keep; what can move now is the balance above that reserve. Only active channels count towards
// the totals: an inactive channel cannot carry a payment now.
import { getChannels, getWalletInfo } from 'lightning';
import type { ChannelInfo, Network, NodeInfo } from '../port.ts';
import type { LndContext } from './lnd-context.ts';

/** Genesis block hashes as LND's GetInfo reports them through `lightning` (byte-reversed). */
const CHAINS: Record<string, Network> = {
  '6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000': 'bitcoin',
  '43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000': 'testnet',
  '43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000': 'testnet',
  f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000: 'signet',
  '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f': 'regtest',
};

export function networkOfChains(chains: readonly string[]): Network | null {
  for (const chain of chains) {
    const network = CHAINS[chain];
    if (network) return network;
  }
  return null;
}

export async function readNodeInfo(context: LndContext): Promise<NodeInfo> {
  const [info, channels] = await Promise.all([
    context.request('info', () => getWalletInfo({ lnd: context.lnd })),
    readChannels(context),
  ]);
  context.lastHeight = info.current_block_height;
  const usable = channels.filter((channel) => channel.usable);
  return {
    nodeId: info.public_key,
    network: context.network,
    blockHeight: info.current_block_height,
    localBalanceMsat: usable.reduce((sum, channel) => sum + channel.localBalanceMsat, 0n),
    remoteBalanceMsat: usable.reduce((sum, channel) => sum + channel.remoteBalanceMsat, 0n),
    channels,
  };
}

export async function readChannels(context: LndContext): Promise<ChannelInfo[]> {
  const { channels } = await context.request('info', () => getChannels({ lnd: context.lnd }));
  return channels.map((channel) => ({
    channelId: channel.id,
    peerNodeId: channel.partner_public_key,
    capacitySat: BigInt(channel.capacity),
    localBalanceMsat: aboveReserve(channel.local_balance, channel.local_reserve),
    remoteBalanceMsat: aboveReserve(channel.remote_balance, channel.remote_reserve),
    usable: channel.is_active,
    pendingHtlcs: channel.pending_payments.length,
  }));
}

/** What the node can receive now, over every active channel. */
export async function receivableMsat(context: LndContext): Promise<bigint> {
  const channels = await readChannels(context);
  return channels
    .filter((channel) => channel.usable)
    .reduce((sum, channel) => sum + channel.remoteBalanceMsat, 0n);
}

function aboveReserve(balanceSat: number, reserveSat: number): bigint {
  const spendable = BigInt(balanceSat) - BigInt(reserveSat);
  return spendable > 0n ? spendable * 1000n : 0n;
}
