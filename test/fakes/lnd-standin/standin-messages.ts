// STAND-IN LND (test double, not LND): the stand-in's records written as LND's gRPC messages (field names
// as in LND's lightning.proto / router.proto shipped with the `lightning` package, 64-bit numbers as
// strings, bytes as Buffers, enums by name), with the fields `lightning` checks filled in.

import type { ChannelView } from './standin-network.ts';
import type { InvoiceRecord, PaymentRecord } from './standin-records.ts';

const FEATURES = {
  8: { name: 'tlv-onion', is_required: true, is_known: true },
  14: { name: 'payment-addr', is_required: true, is_known: true },
  17: { name: 'multi-path-payments', is_required: false, is_known: true },
};

const sat = (msat: string | bigint) => (BigInt(msat) / 1000n).toString();

export function invoiceMessage(record: InvoiceRecord) {
  const paid = record.htlcs
    .filter((htlc) => htlc.state !== 'CANCELED')
    .reduce((sum, htlc) => sum + BigInt(htlc.amtMsat), 0n);
  return {
    memo: record.memo,
    r_preimage: record.preimage ? Buffer.from(record.preimage, 'hex') : Buffer.alloc(0),
    r_hash: Buffer.from(record.hash, 'hex'),
    value: sat(record.valueMsat),
    value_msat: record.valueMsat,
    settled: record.state === 'SETTLED',
    creation_date: String(record.creationDate),
    settle_date: String(record.settleDate),
    payment_request: record.bolt11,
    description_hash: Buffer.alloc(0),
    expiry: String(record.expiry),
    fallback_addr: '',
    cltv_expiry: String(record.cltvExpiry),
    route_hints: [],
    private: false,
    add_index: String(record.addIndex),
    settle_index: String(record.settleIndex),
    amt_paid: String(paid),
    amt_paid_sat: sat(paid),
    amt_paid_msat: paid.toString(),
    state: record.state,
    htlcs: record.htlcs.map((htlc) => ({
      chan_id: htlc.chanId,
      htlc_index: String(htlc.htlcIndex),
      amt_msat: htlc.amtMsat,
      accept_height: htlc.acceptHeight,
      accept_time: String(htlc.acceptTime),
      resolve_time: String(htlc.resolveTime),
      expiry_height: htlc.expiryHeight,
      state: htlc.state,
      custom_records: {},
      mpp_total_amt_msat: htlc.amtMsat,
    })),
    features: FEATURES,
    is_keysend: false,
    payment_addr: Buffer.from(record.paymentAddr, 'hex'),
    is_amp: false,
  };
}

export function paymentMessage(record: PaymentRecord) {
  const attempt = record.attempt;
  return {
    payment_hash: record.hash,
    value: sat(record.valueMsat),
    creation_date: String(BigInt(record.creationTimeNs) / 1_000_000_000n),
    fee: sat(record.feeMsat),
    payment_preimage: record.preimage,
    value_sat: sat(record.valueMsat),
    value_msat: record.valueMsat,
    payment_request: record.bolt11,
    status: record.status,
    fee_sat: sat(record.feeMsat),
    fee_msat: record.feeMsat,
    creation_time_ns: record.creationTimeNs,
    htlcs: attempt
      ? [
          {
            attempt_id: String(attempt.attemptId),
            status: attempt.status,
            route: {
              total_time_lock: attempt.route.totalTimeLock,
              total_fees: sat(attempt.route.totalFeesMsat),
              total_amt: sat(attempt.route.totalAmtMsat),
              total_fees_msat: attempt.route.totalFeesMsat,
              total_amt_msat: attempt.route.totalAmtMsat,
              hops: attempt.route.hops.map((hop, index, hops) => ({
                chan_id: hop.chanId,
                chan_capacity: hop.chanCapacity,
                amt_to_forward: sat(hop.amtToForwardMsat),
                fee: sat(hop.feeMsat),
                expiry: hop.expiry,
                amt_to_forward_msat: hop.amtToForwardMsat,
                fee_msat: hop.feeMsat,
                pub_key: hop.pubKey,
                tlv_payload: true,
                mpp_record:
                  index === hops.length - 1
                    ? { payment_addr: Buffer.alloc(32), total_amt_msat: hop.amtToForwardMsat }
                    : null,
              })),
            },
            attempt_time_ns: attempt.attemptTimeNs,
            resolve_time_ns: attempt.resolveTimeNs,
            preimage: record.preimage ? Buffer.from(record.preimage, 'hex') : Buffer.alloc(0),
          },
        ]
      : [],
    payment_index: String(record.paymentIndex),
    failure_reason: record.failureReason,
  };
}

export function channelMessage(channel: ChannelView, peerNodeId: string) {
  const local = channel.localMsat / 1000n;
  const remote = channel.remoteMsat / 1000n;
  const constraints = {
    csv_delay: 144,
    chan_reserve_sat: channel.reserveSat.toString(),
    dust_limit_sat: '354',
    max_pending_amt_msat: (channel.capacitySat * 1000n).toString(),
    min_htlc_msat: '1',
    max_accepted_htlcs: 483,
  };
  return {
    active: channel.active,
    remote_pubkey: peerNodeId,
    channel_point: channel.point,
    chan_id: channel.channelId,
    capacity: channel.capacitySat.toString(),
    local_balance: local.toString(),
    remote_balance: remote.toString(),
    commit_fee: '0',
    commit_weight: '772',
    fee_per_kw: '253',
    unsettled_balance: channel.inFlight.reduce((sum, htlc) => sum + htlc.amountMsat / 1000n, 0n).toString(),
    total_satoshis_sent: '0',
    total_satoshis_received: '0',
    num_updates: '1',
    pending_htlcs: channel.inFlight.map((htlc) => ({
      incoming: htlc.incoming,
      amount: (htlc.amountMsat / 1000n).toString(),
      hash_lock: Buffer.from(htlc.paymentHash, 'hex'),
      expiration_height: htlc.expiry,
      htlc_index: String(htlc.htlcIndex),
      forwarding_channel: '0',
      forwarding_htlc_index: '0',
    })),
    csv_delay: 144,
    private: true,
    initiator: true,
    chan_status_flags: 'ChanStatusDefault',
    local_chan_reserve_sat: channel.reserveSat.toString(),
    remote_chan_reserve_sat: channel.reserveSat.toString(),
    lifetime: '3600',
    uptime: '3600',
    close_address: '',
    push_amount_sat: '0',
    thaw_height: 0,
    local_constraints: constraints,
    remote_constraints: constraints,
    alias_scids: [],
    zero_conf: false,
    zero_conf_confirmed_scid: '0',
    peer_alias: '',
    peer_scid_alias: '0',
    memo: '',
    commitment_type: 'ANCHORS',
  };
}
