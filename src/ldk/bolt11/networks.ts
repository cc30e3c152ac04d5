// The currency prefixes BOLT11 knows (`ln` + the BIP-173 prefix), with what a fallback address needs.
// Signet shares testnet's address formats; only its invoice prefix differs.

export const NETWORKS = {
  bc: { name: 'bitcoin', segwitPrefix: 'bc', pubkeyHashVersion: 0x00, scriptHashVersion: 0x05 },
  tb: { name: 'testnet', segwitPrefix: 'tb', pubkeyHashVersion: 0x6f, scriptHashVersion: 0xc4 },
  tbs: { name: 'signet', segwitPrefix: 'tb', pubkeyHashVersion: 0x6f, scriptHashVersion: 0xc4 },
  bcrt: { name: 'regtest', segwitPrefix: 'bcrt', pubkeyHashVersion: 0x6f, scriptHashVersion: 0xc4 },
  sb: { name: 'simnet', segwitPrefix: 'sb', pubkeyHashVersion: 0x3f, scriptHashVersion: 0x7b },
} as const;

export type CurrencyPrefix = keyof typeof NETWORKS;
export type NetworkName = (typeof NETWORKS)[CurrencyPrefix]['name'];
export type NetworkParameters = (typeof NETWORKS)[CurrencyPrefix];

export function isCurrencyPrefix(text: string): text is CurrencyPrefix {
  return Object.hasOwn(NETWORKS, text);
}
