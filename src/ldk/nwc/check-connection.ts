// Operator check of an NWC connection: runs the adapter's start-up checks and prints what the wallet offers,
// or why the agent would refuse it. The URI is read from $LIGHTNING_URL (an argument would show the secret
// in the process list).
//   LIGHTNING_URL='nostr+walletconnect://...' npx tsx src/ldk/nwc/check-connection.ts
import { NwcBackend } from './nwc-backend.ts';
import { NwcUriError } from './nwc-uri.ts';
import { NwcStartupError } from './wallet-capabilities.ts';

const uri = process.env.LIGHTNING_URL ?? process.env.NWC_URL;
if (!uri) {
  process.stderr.write('check-connection: set LIGHTNING_URL to the nostr+walletconnect:// URI\n');
  process.exit(2);
}
try {
  const backend = await NwcBackend.connect({ uri, startupTimeoutMs: 15_000 });
  const info = await backend.getInfo();
  process.stdout.write(
    `${JSON.stringify(
      {
        ok: true,
        wallet: backend.wallet,
        blockHeight: info.blockHeight,
        spendableMsat: String(info.localBalanceMsat),
        relays: backend.relayStatus(),
      },
      null,
      2,
    )}\n`,
  );
  backend.close();
  process.exit(0);
} catch (error) {
  const known = error instanceof NwcStartupError || error instanceof NwcUriError;
  process.stderr.write(`NWC connection refused: ${known ? (error as Error).message : String(error)}\n`);
  process.exit(1);
}
