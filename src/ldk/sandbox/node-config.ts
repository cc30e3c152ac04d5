// LDK settings for the sandbox nodes, each one with the reason it differs from LDK's default.
import * as ldk from 'lightningdevkit';

/** What the agent charges to forward payer -> worker; explicit so tests can compute the expected fee. */
export const FORWARDING_FEE_BASE_MSAT = 1000;
export const FORWARDING_FEE_PROPORTIONAL_MILLIONTHS = 1000;
/** The most HTLCs a channel may hold at once (BOLT 2's limit): one held HTLC per funded task. */
export const MAX_ACCEPTED_HTLCS = 483;
/** Confirmations before a channel is usable (LDK's default; the sandbox mines them at once). */
export const CHANNEL_CONFIRMATIONS = 6;
/**
 * The most msat in dust HTLCs a channel may carry at once. At the sandbox's fee rate LDK counts any HTLC
 * under about 2310 sat as dust, and its default cap (about 2530 sat) would refuse a second small hold while
 * one is in flight. Dust HTLCs are not enforceable on chain, so this stays modest.
 */
export const MAX_DUST_EXPOSURE_MSAT = 50_000_000n;
/** The synthetic chain has no fee market: every target gets the relay minimum (sat per 1000 weight). */
export const FEE_RATE_SAT_PER_KW = 253;

export function sandboxUserConfig(): ldk.UserConfig {
  const config = ldk.UserConfig.constructor_default();
  // Without gossip every channel is private; the agent must still forward payer -> worker over one.
  config.set_accept_forwards_to_priv_channels(true);
  const handshake = config.get_channel_handshake_config();
  // LDK's default lets only 10% of a channel be in flight towards us; a hold may use the whole channel.
  handshake.set_max_inbound_htlc_value_in_flight_percent_of_channel(100);
  handshake.set_our_max_accepted_htlcs(MAX_ACCEPTED_HTLCS);
  handshake.set_minimum_depth(CHANNEL_CONFIRMATIONS);
  handshake.set_announce_for_forwarding(false);
  config.set_channel_handshake_config(handshake);
  const channel = config.get_channel_config();
  channel.set_forwarding_fee_base_msat(FORWARDING_FEE_BASE_MSAT);
  channel.set_forwarding_fee_proportional_millionths(FORWARDING_FEE_PROPORTIONAL_MILLIONTHS);
  channel.set_max_dust_htlc_exposure(
    ldk.MaxDustHTLCExposure.constructor_fixed_limit_msat(MAX_DUST_EXPOSURE_MSAT),
  );
  config.set_channel_config(channel);
  return config;
}
