// A sandbox in a child process, for crash tests: it starts over the folder given as argument, then runs the
// scenario named by the second argument and reports progress as JSON lines on stdout, until killed.
//   hold-accepted: one hold paid and held; prints {"accepted": {paymentHash, preimage}} and waits.
//   busy: holds paid and settled or canceled in a loop; prints each step.
import { Sandbox } from '../../src/ldk/sandbox/sandbox.ts';
import { eventually, newPreimage } from './ldk-wait.ts';

const [directory, scenario] = process.argv.slice(2);
if (!directory || !scenario) throw new Error('usage: ldk-sandbox-child.ts <directory> <hold-accepted|busy>');
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const sandbox = await Sandbox.start({ directory, logLevel: 'warn' });
report({ started: true, height: sandbox.height });

async function holdOnce(index: number): Promise<{ paymentHash: string; preimage: string }> {
  const { preimage, paymentHash } = newPreimage();
  const invoice = await sandbox.agent.createHoldInvoice({
    paymentHash,
    amountMsat: 10_000_000n + BigInt(index),
    description: `crash ${index}`,
    expirySeconds: 600,
    finalCltvDelta: 144,
  });
  report({ created: { paymentHash, preimage } });
  sandbox.payer.pay({ bolt11: invoice.bolt11, maxFeeMsat: 1000n, timeoutSeconds: 600 }).catch(() => {});
  await eventually('held', async () => (await sandbox.agent.lookup(paymentHash))?.state === 'ACCEPTED');
  report({ accepted: { paymentHash, preimage } });
  return { paymentHash, preimage };
}

if (scenario === 'hold-accepted') {
  await holdOnce(0);
  setInterval(() => {}, 1000);
} else {
  for (let index = 0; ; index++) {
    const { paymentHash, preimage } = await holdOnce(index);
    if (index % 2 === 0) await sandbox.agent.settle(preimage, paymentHash);
    else await sandbox.agent.cancel(paymentHash);
    report({ finished: { paymentHash, settled: index % 2 === 0 } });
  }
}
