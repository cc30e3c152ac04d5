// The conformance suite on the sandbox adapter: three real LDK nodes (WASM) in this process, peers over
// 127.0.0.1 TCP, on a regtest chain mined on demand. The data folder lives under the OS temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FORWARDING_FEE_BASE_MSAT,
  FORWARDING_FEE_PROPORTIONAL_MILLIONTHS,
} from '../../../src/ldk/sandbox/node-config.ts';
import { Sandbox } from '../../../src/ldk/sandbox/sandbox.ts';
import { type ConformanceHarness, runConformanceSuite } from '../conformance.ts';

async function startSandboxHarness(): Promise<ConformanceHarness> {
  const directory = mkdtempSync(join(tmpdir(), 'escrow-ldk-sandbox-'));
  const sandbox = await Sandbox.start({
    directory,
    logLevel: process.env.LDK_LOG_LEVEL === 'warn' ? 'warn' : 'error',
  });
  return {
    get agent() {
      return sandbox.agent;
    },
    get payer() {
      return sandbox.payer;
    },
    get worker() {
      return sandbox.worker;
    },
    mine: async (blocks) => sandbox.mine(blocks),
    // The sandbox restarts all three nodes and the chain, as a new process over the same folder would.
    restart: () => sandbox.restart(false),
    forwardingFeeMsat: (amountMsat) =>
      BigInt(FORWARDING_FEE_BASE_MSAT) +
      (amountMsat * BigInt(FORWARDING_FEE_PROPORTIONAL_MILLIONTHS)) / 1_000_000n,
    close: async () => {
      await sandbox.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

runConformanceSuite('sandbox (three LDK nodes)', startSandboxHarness);
