// The Lightning port's conformance suite, written once and run against every adapter that can run here
// (test/ldk/sandbox/sandbox.test.ts runs it on three real LDK nodes). An adapter provides a harness
// (conformance/types.ts): the agent's backend under test, a payer that pays its holds, a worker that
// receives payouts, a way to mine blocks and a way to restart the agent's node as a crash would.
import { suite } from 'uvu';
import { registerDeadlineCases } from './conformance/deadline-cases.ts';
import { registerHoldCases } from './conformance/hold-cases.ts';
import { registerIdempotencyCases } from './conformance/idempotency-cases.ts';
import { registerPaymentCases } from './conformance/payment-cases.ts';
import { registerRefusalCases } from './conformance/refusal-cases.ts';
import { registerRestartCases } from './conformance/restart-cases.ts';
import type { ConformanceHarness, ConformanceTest, HarnessAccess } from './conformance/types.ts';

export type {
  ConformanceHarness,
  ConformanceTest,
  HarnessAccess,
  PayingWallet,
  ReceivingWallet,
} from './conformance/types.ts';

export function runConformanceSuite(
  adapterName: string,
  makeHarness: () => Promise<ConformanceHarness>,
): void {
  const cases = suite(`Lightning port conformance: ${adapterName}`) as ConformanceTest;
  let harness: ConformanceHarness | null = null;
  const access: HarnessAccess = () => {
    if (!harness) throw new Error('the harness is not started');
    return harness;
  };
  cases.before(async () => {
    harness = await makeHarness();
  });
  cases.after(async () => {
    await harness?.close();
  });
  registerHoldCases(cases, access);
  registerIdempotencyCases(cases, access);
  registerRefusalCases(cases, access);
  registerPaymentCases(cases, access);
  registerDeadlineCases(cases, access);
  registerRestartCases(cases, access);
  cases.run();
}
