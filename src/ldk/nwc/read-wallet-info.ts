// get_info and get_balance over NWC. NIP-47 tells the node's id, network, height and spendable balance, but
// nothing about channels or what the node can receive: remoteBalanceMsat is our sandbox service's
// max_receivable when it sends one, else 0, and the channel list is empty.
import { LightningError } from '../lightning-error.ts';
import type { Network, NodeInfo } from '../port.ts';
import { toLightningError } from './map-wallet-error.ts';
import type { Nip47Client } from './nip47-client.ts';
import { getBalanceSchema, getInfoSchema, type Nip47Info } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';

export async function requestInfo(client: Nip47Client, timeoutMs: number): Promise<Nip47Info> {
  const reply = await client.request(
    'get_info',
    {},
    (result) => {
      const parsed = getInfoSchema.safeParse(result);
      return parsed.success ? parsed.data : undefined;
    },
    timeoutMs,
  );
  if (!reply.ok) throw toLightningError('get_info', reply.error);
  return reply.result;
}

export function networkOf(name: string | undefined): Network | null {
  switch (name) {
    case 'mainnet':
    case 'bitcoin':
      return 'bitcoin';
    case 'testnet':
    case 'testnet3':
      return 'testnet';
    case 'signet':
      return 'signet';
    case 'regtest':
      return 'regtest';
    default:
      return null;
  }
}

export async function readNodeInfo(context: NwcContext): Promise<NodeInfo> {
  const [info, balance] = await Promise.all([
    requestInfo(context.client, context.requestTimeoutMs),
    context.client.request(
      'get_balance',
      {},
      (result) => {
        const parsed = getBalanceSchema.safeParse(result);
        return parsed.success ? parsed.data : undefined;
      },
      context.requestTimeoutMs,
    ),
  ]);
  if (!balance.ok) throw toLightningError('get_balance', balance.error);
  if (info.block_height === undefined) {
    throw new LightningError('NodeUnavailable', 'get_info: the wallet service gave no block_height');
  }
  context.tracker.noteHeight(info.block_height);
  return {
    nodeId: info.pubkey ?? context.wallet.nodeId,
    network: networkOf(info.network) ?? context.wallet.network,
    blockHeight: info.block_height,
    localBalanceMsat: BigInt(balance.result.balance),
    remoteBalanceMsat: BigInt(balance.result.max_receivable ?? 0),
    channels: [],
  };
}
