// `escrow-agent ln ...`: what a person needs to try the product by hand with the LDK sandbox that
// `escrow-agent start` runs: node info, mining, paying from the payer node, invoicing on the worker node.
// It talks to the running sandbox over the control socket in its data folder.
import { join } from 'node:path';
import type { AgentConfig } from '../../agent/config.ts';
import { ControlError, callControl, controlSocketPath } from '../../ldk/sandbox-control/control-client.ts';
import type { Output } from '../output.ts';
import { redactSecrets } from '../redact.ts';

const USAGE = 'usage: escrow-agent ln info | mine N | pay BOLT11 | invoice SATS [DESCRIPTION]';
/** The sandbox's control socket mines at most this many blocks at once. */
const MAX_BLOCKS = 10_000;

export async function lightningCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  const folder = join(config.dataDir, 'sandbox');
  const socket = controlSocketPath(folder);
  if (!socket) {
    output.err(`escrow-agent ln: no sandbox is running on ${folder}: start it with \`escrow-agent start\``);
    return 2;
  }
  try {
    switch (verb) {
      case 'info': {
        const info = await callControl(socket, 'GET', '/info');
        output.out(`height ${info.height}`);
        for (const [name, node] of Object.entries(info.nodes as Record<string, Record<string, unknown>>)) {
          const channels = node.channels as Array<Record<string, unknown>>;
          output.out(
            `${name.padEnd(6)} ${node.nodeId} can send ${sats(node.localBalanceMsat)} sat, can receive ${sats(node.remoteBalanceMsat)} sat, ${channels.length} channel(s)`,
          );
        }
        return 0;
      }
      case 'mine': {
        // Digits only: Number() would read `1e3` as 1000 and `0x10` as 16.
        const text = rest[0] ?? '';
        const blocks = /^[1-9]\d{0,5}$/.test(text) ? Number(text) : Number.NaN;
        if (!(blocks >= 1 && blocks <= MAX_BLOCKS))
          return usage(
            output,
            `mine takes a whole number of blocks from 1 to ${MAX_BLOCKS} in plain digits, e.g. \`ln mine 6\``,
          );
        const result = await callControl(socket, 'POST', '/mine', { blocks });
        output.out(`mined ${blocks} block(s); height ${result.height}`);
        return 0;
      }
      case 'pay': {
        if (!rest[0]) return usage(output, 'pay takes a BOLT11 invoice');
        const result = await callControl(socket, 'POST', '/pay', {
          bolt11: rest[0],
          node: 'payer',
          timeoutSeconds: 5,
        });
        if (result.status === 'pending')
          output.out('payment in flight: the agent holds it until the task is settled or refunded');
        else if (result.status === 'succeeded')
          output.out(`paid; preimage ${result.preimage}, routing fee ${result.feeMsat} msat`);
        else output.out(`payment failed: ${result.reason} ${result.detail ?? ''}`);
        return result.status === 'failed' ? 1 : 0;
      }
      case 'invoice': {
        const amount = rest[0] ?? '';
        if (!/^[1-9]\d{0,15}$/.test(amount))
          return usage(output, 'invoice takes an amount in whole sats, e.g. `ln invoice 20790`');
        // The worker node can only be paid what its channels can receive: ask the sandbox, and say the limit.
        const info = await callControl(socket, 'GET', '/info');
        const worker = (info.nodes as Record<string, Record<string, unknown>> | undefined)?.worker;
        const inbound = worker ? BigInt(String(worker.remoteBalanceMsat ?? '0')) / 1000n : undefined;
        if (inbound !== undefined && BigInt(amount) > inbound) {
          output.err(
            `escrow-agent ln: the worker node can receive at most ${inbound} sat (the inbound capacity of its channels): invoice ${inbound} sat or less`,
          );
          return 2;
        }
        const result = await callControl(socket, 'POST', '/invoice', {
          amountMsat: (BigInt(amount) * 1000n).toString(),
          description: rest.slice(1).join(' ') || 'escrow payout',
          node: 'worker',
        });
        output.out(String(result.bolt11));
        return 0;
      }
      default:
        return usage(output, verb ? `unknown ln command "${verb}"` : 'which ln command?');
    }
  } catch (error) {
    if (error instanceof ControlError) {
      output.err(`escrow-agent ln: ${redactSecrets(error.message)}`);
      // No sandbox behind the socket (a stale socket file) is something to change first; a refusal of the
      // node (a payment or invoice it could not make) is a command that ran and failed.
      return error.message.startsWith('no sandbox is running') ? 2 : 1;
    }
    throw error;
  }
}

function usage(output: Output, problem: string): number {
  output.err(`escrow-agent ln: ${problem}\n${USAGE}`);
  return 2;
}

function sats(msat: unknown): string {
  return (BigInt(String(msat)) / 1000n).toString();
}
