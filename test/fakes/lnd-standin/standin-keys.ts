// STAND-IN LND (test double, not LND): fixed test keys for the stand-in network's three nodes, and the
// invoices they sign. Real BOLT11 invoices (src/ldk/bolt11's encoder), so the adapter and the `lightning`
// package decode exactly what they would from LND: amount, payment hash and secret, description, expiry,
// min_final_cltv_expiry_delta, and the feature bits LND sets (var_onion_optin and payment_secret required,
// basic_mpp optional). These keys protect nothing: never use them for money.
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeBolt11 } from '../../../src/ldk/bolt11/index.ts';
import type { NodeName } from './standin-network.ts';

const LND_INVOICE_FEATURES = [8, 14, 17];

export interface NodeKey {
  privateKey: Uint8Array;
  nodeId: string;
}

export function testNodeKey(name: NodeName): NodeKey {
  const privateKey = sha256(new TextEncoder().encode(`lnd stand-in test key: ${name}`));
  return { privateKey, nodeId: bytesToHex(secp256k1.getPublicKey(privateKey, true)) };
}

export interface InvoiceToMint {
  paymentHash: string;
  amountMsat: bigint;
  description: string;
  /** Unix seconds. */
  timestamp: number;
  expirySeconds: number;
  finalCltvDelta: number;
}

/** Returns the invoice and its payment secret (LND's payment_addr). */
export function mintInvoice(key: NodeKey, invoice: InvoiceToMint): { bolt11: string; paymentSecret: string } {
  const paymentSecret = randomBytes(32).toString('hex');
  const bolt11 = encodeBolt11(
    {
      currencyPrefix: 'bcrt',
      amountMsat: invoice.amountMsat > 0n ? invoice.amountMsat : null,
      timestamp: invoice.timestamp,
      fields: [
        { kind: 'payment_hash', paymentHash: invoice.paymentHash },
        { kind: 'payment_secret', paymentSecret },
        { kind: 'description', description: invoice.description },
        { kind: 'expiry', seconds: invoice.expirySeconds },
        { kind: 'min_final_cltv_expiry_delta', blocks: invoice.finalCltvDelta },
        { kind: 'features', bits: LND_INVOICE_FEATURES },
      ],
    },
    { privateKey: key.privateKey },
  );
  return { bolt11, paymentSecret };
}
