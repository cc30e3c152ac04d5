import type { AgentConfig } from '../../agent/config.ts';
import { loadRelayList } from '../../agent/relay-list.ts';
import { requiredFinalCltv, totalWindowSeconds } from '../../domain/deadlines.ts';
import type { Output } from '../output.ts';
import { redactSecrets, redactUrl } from '../redact.ts';

/** Prints the effective configuration and the hold it needs; loading it already checked every rule, and the relay
 * list is read and checked here as `start` reads it (a RelayListError otherwise: exit 2). */
export async function checkConfigCommand(config: AgentConfig, output: Output): Promise<number> {
  const { policy } = config;
  const relayList = loadRelayList({ file: config.relaysFile, urls: config.relays });
  const cltv = requiredFinalCltv(policy.windows, policy);
  output.out(`configuration: ${config.source}`);
  output.out(`database:      ${redactUrl(config.databaseUrl)}`);
  output.out(
    `lightning:     ${config.lightning.backend}${config.lightning.url ? ` (${redactSecrets(config.lightning.url)})` : ''}`,
  );
  output.out(
    `relays:        ${relayList.relays.map((relay) => `${relay.url} (${relayFlags(relay)})`).join(', ')} from ${relayList.source}`,
  );
  output.out(`amounts:       ${policy.minAmountMsat}..${policy.maxAmountMsat} msat`);
  output.out(`fee:           ${policy.fee.baseMsat} msat + ${policy.fee.ppm} ppm`);
  output.out(
    `windows:       claim ${policy.windows.claimSeconds} s, work ${policy.windows.workSeconds} s, review ${policy.windows.reviewSeconds} s, dispute ${policy.windows.disputeSeconds} s (${totalWindowSeconds(policy.windows)} s in all)`,
  );
  output.out(
    `hold:          final CLTV ${cltv} blocks (max ${policy.maxFinalCltvDelta}), incl. ${policy.backendAutoCancelBlocks} auto-cancel and ${policy.safetyMarginBlocks} safety blocks`,
  );
  output.out('configuration OK');
  return 0;
}

function relayFlags(relay: { read: boolean; write: boolean }): string {
  return [relay.read ? 'read' : '', relay.write ? 'write' : ''].filter(Boolean).join('+');
}
