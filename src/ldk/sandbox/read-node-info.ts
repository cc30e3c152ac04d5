// getInfo(): who the node is, where its chain is, and what it can send and receive right now.
import type { ChannelInfo, NodeInfo } from '../port.ts';
import { toHex } from './bytes.ts';
import type { LdkNode } from './ldk-node.ts';

export function readNodeInfo(node: LdkNode): NodeInfo {
  const channels: ChannelInfo[] = node.manager.list_channels().map((channel) => ({
    channelId: toHex(channel.get_channel_id().get_a()),
    peerNodeId: toHex(channel.get_counterparty().get_node_id()),
    capacitySat: channel.get_channel_value_satoshis(),
    localBalanceMsat: channel.get_outbound_capacity_msat(),
    remoteBalanceMsat: channel.get_inbound_capacity_msat(),
    // The bindings hand booleans over as 0 / 1.
    usable: Boolean(channel.get_is_usable()),
    pendingHtlcs: channel.get_pending_inbound_htlcs().length + channel.get_pending_outbound_htlcs().length,
  }));
  return {
    nodeId: node.nodeId,
    network: 'regtest',
    blockHeight: node.blockHeight(),
    localBalanceMsat: channels.reduce((sum, channel) => sum + channel.localBalanceMsat, 0n),
    remoteBalanceMsat: channels.reduce((sum, channel) => sum + channel.remoteBalanceMsat, 0n),
    channels,
  };
}
