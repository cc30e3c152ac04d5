// The sandbox killed with SIGKILL (a child process running it over a folder), then started again from that
// folder in this process: no hold is lost, and what was held can still be settled or canceled.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightningEvent } from '../../../src/ldk/port.ts';
import { Sandbox } from '../../../src/ldk/sandbox/sandbox.ts';
import { eventually } from '../../fakes/ldk-wait.ts';

interface ChildLine {
  created?: { paymentHash: string; preimage: string };
  accepted?: { paymentHash: string; preimage: string };
  finished?: { paymentHash: string; settled: boolean };
}

const folders: string[] = [];
test.after(() => {
  for (const path of folders) rmSync(path, { recursive: true, force: true });
});

/** Starts the child over `folder` and resolves with its lines once `stop(lines)` is true (then kills it -9). */
function runChildUntil(
  folder: string,
  scenario: string,
  stop: (lines: ChildLine[]) => boolean,
): Promise<ChildLine[]> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '../../fakes/ldk-sandbox-child.ts'), folder, scenario],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: ChildLine[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child never got far enough: ${JSON.stringify(lines)}`));
    }, 90_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(JSON.parse(line) as ChildLine);
      if (!stop(lines)) return;
      child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(lines);
    });
  });
}

test('a sandbox killed while a hold is accepted comes back with the hold, reports it again and settles it', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-ldk-crash-'));
  folders.push(folder);
  const lines = await runChildUntil(folder, 'hold-accepted', (seen) => seen.some((line) => line.accepted));
  const { paymentHash, preimage } = lines.find((line) => line.accepted)!.accepted!;

  const sandbox = await Sandbox.start({ directory: folder });
  try {
    const hold = await sandbox.agent.lookup(paymentHash);
    assert.is(hold?.state, 'ACCEPTED');
    assert.ok(hold?.claimDeadlineHeight !== null && hold?.htlcExpiryHeight !== null);
    const events: LightningEvent[] = [];
    const unsubscribe = sandbox.agent.subscribe((event) => events.push(event));
    await eventually('the held payment is reported again', async () =>
      events.some((event) => event.type === 'hold_accepted' && event.paymentHash === paymentHash),
    );
    unsubscribe();

    await sandbox.agent.settle(preimage, paymentHash);

    // The payer was killed mid-payment too: its record and LDK's own pending payment survive.
    const outcome = await eventually('the payer learns the preimage', async () => {
      const status = await sandbox.payer.paymentStatus(paymentHash);
      return status?.status === 'succeeded' ? status : undefined;
    });
    assert.is(outcome.preimage, preimage);
  } finally {
    await sandbox.stop();
  }
});

test('a sandbox killed during payment traffic loses track of no hold', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-ldk-crash-'));
  folders.push(folder);
  // Killed in the middle of the sixth hold's life (after its invoice exists), wherever the node is then.
  const lines = await runChildUntil(
    folder,
    'busy',
    (seen) => seen.filter((line) => line.created).length >= 6,
  );

  const warnings: string[] = [];
  const sandbox = await Sandbox.start({
    directory: folder,
    logLevel: 'warn',
    log: (entry) => warnings.push(`${entry.node}: ${entry.message}`),
  });
  try {
    for (const { created, accepted, finished } of lines) {
      if (created)
        assert.ok(await sandbox.agent.lookup(created.paymentHash), 'every invoice handed out is known');
      if (accepted) {
        const state = (await sandbox.agent.lookup(accepted.paymentHash))?.state;
        assert.ok(state && state !== 'OPEN', `a held payment is still accounted for (${state})`);
      }
      if (finished) {
        const state = (await sandbox.agent.lookup(finished.paymentHash))?.state;
        assert.is(state, finished.settled ? 'SETTLED' : 'CANCELED');
      }
    }
    // Whatever is still held can be finished: settle it, and the payer learns the preimage.
    const preimages = new Map(
      lines.flatMap((line) => (line.created ? [[line.created.paymentHash, line.created.preimage]] : [])),
    );
    for (const hold of await sandbox.agent.list('ACCEPTED')) {
      await sandbox.agent.settle(preimages.get(hold.paymentHash)!, hold.paymentHash);
      const channelReplaced = warnings.some((warning) => warning.includes('replacing'));
      if (channelReplaced) continue;
      await eventually(
        'the payer sees the settlement',
        async () => (await sandbox.payer.paymentStatus(hold.paymentHash))?.status === 'succeeded',
      );
    }
    assert.equal(await sandbox.agent.list('ACCEPTED'), []);
  } finally {
    await sandbox.stop();
  }
});

test.run();
