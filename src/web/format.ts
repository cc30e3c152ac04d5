// How the verification page writes amounts and times: sats with thousands separators, and UTC.

/** Millisatoshis as sats with up to three decimals, e.g. 29,849.4 sat. */
export function formatMsat(msat: bigint): string {
  const sats = msat / 1000n;
  const rest = msat % 1000n;
  const decimals = rest === 0n ? '' : `.${rest.toString().padStart(3, '0').replace(/0+$/, '')}`;
  return `${sats.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${decimals} sat`;
}

/** Unix seconds in UTC, e.g. 2025-06-15 15:06:40 UTC. */
export function formatTime(unix: number): string {
  return `${new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
