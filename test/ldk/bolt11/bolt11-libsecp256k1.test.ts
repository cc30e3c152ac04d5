// The spec's vectors (bolt11.test.ts, every valid and invalid example) again, with the payee keys recovered and
// checked by libsecp256k1 (src/crypto/ecdsa.ts), the curve the agent and the command line install.
import { libsecp256k1InvoiceCurve } from '../../../src/crypto/ecdsa.ts';
import { useInvoiceCurve } from '../../../src/ldk/bolt11/signature.ts';

useInvoiceCurve(libsecp256k1InvoiceCurve);
await import('./bolt11.test.ts');
