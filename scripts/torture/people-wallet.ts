// The payer's and the worker's wallets as the driver uses them: a NIP-47 client (the project's own, src/ldk/nwc)
// on a connection URI from the wallet process (or the embedded set-up's sandbox/payer.nwc, worker.nwc). The payer
// pays hold invoices (the answer comes only when the hold is settled or cancelled, so a pay request is sent and
// not waited on: the agent's `funded` transition is what the driver waits for); the worker makes payout invoices.
import { Nip47Client } from '../../src/ldk/nwc/nip47-client.ts';
import { silentLogger } from '../../src/ldk/nwc/nwc-log.ts';
import { parseNwcUri } from '../../src/ldk/nwc/nwc-uri.ts';

export class PeopleWallet {
  private constructor(private readonly client: Nip47Client) {}

  static async connect(uri: string, timeoutMs = 20_000): Promise<PeopleWallet> {
    const client = new Nip47Client({ connection: parseNwcUri(uri), log: silentLogger });
    if (!(await client.connect(timeoutMs))) throw new Error('the NWC wallet relay could not be reached');
    if (!(await client.listen('nip44_v2', timeoutMs)))
      throw new Error('the NWC reply subscription did not start');
    return new PeopleWallet(client);
  }

  /** Sends pay_invoice and does not wait for the outcome (a hold's payment stays in flight until settled). */
  payAndForget(bolt11: string, timeoutMs = 30_000): Promise<string> {
    return this.client
      .request('pay_invoice', { invoice: bolt11 }, (result) => result, timeoutMs)
      .then(
        (reply) => (reply.ok ? 'paid' : `error ${reply.error.code}: ${reply.error.message}`),
        (error: Error) => `no answer: ${error.message}`,
      );
  }

  /** A regular invoice for exactly amountMsat (the worker's payout invoice). */
  async makeInvoice(amountMsat: bigint, description: string): Promise<string> {
    const reply = await this.client.request(
      'make_invoice',
      { amount: Number(amountMsat), description, expiry: 3600 },
      (result) =>
        typeof result === 'object' &&
        result !== null &&
        typeof (result as { invoice?: unknown }).invoice === 'string'
          ? (result as { invoice: string }).invoice
          : undefined,
      30_000,
    );
    if (!reply.ok) throw new Error(`make_invoice: ${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  }

  /** get_balance: what the node can send now (msat), and what it can receive (the sandbox's extension field). */
  async balance(): Promise<{ balanceMsat: bigint; raw: Record<string, unknown> }> {
    const reply = await this.client.request(
      'get_balance',
      {},
      (result) =>
        typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : undefined,
      30_000,
    );
    if (!reply.ok) throw new Error(`get_balance: ${reply.error.code}: ${reply.error.message}`);
    return { balanceMsat: BigInt(reply.result.balance as number), raw: reply.result };
  }

  close(): void {
    this.client.close();
  }
}
