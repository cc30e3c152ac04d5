import type { AgentConfig } from '../../agent/config.ts';
import { checkLightningSettings } from '../../agent/connect-lightning.ts';
import { loadRelayList } from '../../agent/relay-list.ts';
import { requiredFinalCltv, totalWindowSeconds } from '../../domain/deadlines.ts';
import { checkDataFolder } from '../data-folder.ts';
import type { Output } from '../output.ts';
import { redactSecrets, redactUrl } from '../redact.ts';

/**
 * Runs every check `start` runs before it connects, and prints the effective configuration and the hold it needs:
 * loading the configuration already checked every key and rule (and AGENT_SECRET_KEY); here the relay list is read
 * and checked, the Lightning settings parsed and validated (NWC URI, LND socket, certificate, macaroon, numbers)
 * and the data folder checked, as `start` does them. Any problem is the error `start` would stop with (exit 2).
 * It connects to nothing, and says so.
 */
export async function checkConfigCommand(config: AgentConfig, output: Output): Promise<number> {
  const { policy } = config;
  const relayList = loadRelayList({ file: config.relaysFile, urls: config.relays });
  const lightning = await checkLightningSettings(config);
  const dataFolder = checkDataFolder(config);
  const cltv = requiredFinalCltv(policy.windows, policy);
  output.out(`configuration: ${config.source}`);
  output.out(`data folder:   ${dataFolder}`);
  output.out(`database:      ${redactUrl(config.databaseUrl)}`);
  output.out(
    `lightning:     ${config.lightning.backend}${config.lightning.url ? ` (${redactSecrets(config.lightning.url)})` : ''}: ${redactSecrets(lightning)}`,
  );
  output.out(
    `relays:        ${redactSecrets(relayList.relays.map((relay) => `${relay.url} (${relayFlags(relay)})`).join(', '))} from ${relayList.source}`,
  );
  output.out(`amounts:       ${policy.minAmountMsat}..${policy.maxAmountMsat} msat`);
  output.out(`fee:           ${policy.fee.baseMsat} msat + ${policy.fee.ppm} ppm`);
  output.out(
    `windows:       claim ${policy.windows.claimSeconds} s, work ${policy.windows.workSeconds} s, review ${policy.windows.reviewSeconds} s, dispute ${policy.windows.disputeSeconds} s (${totalWindowSeconds(policy.windows)} s in all; the maximum hold is ${policy.maxHoldSeconds} s)`,
  );
  const named = config.arbitrators.filter((entry) => entry.active);
  output.out(
    `disputes:      ${
      named.length === 0
        ? 'no arbitrators in the configuration (more may be in the database: escrow-agent arbitrators list)'
        : `${named.length} arbitrator(s) in the configuration (${named.map((entry) => entry.name || `${entry.pubkey.slice(0, 12)}…`).join(', ')}), plus any in the database`
    }; undecided at the hold deadline: ${policy.disputeDeadlineRule}`,
  );
  output.out(
    `hold:          final CLTV ${cltv} blocks (max ${policy.maxFinalCltvDelta}), incl. ${policy.backendAutoCancelBlocks} auto-cancel and ${policy.safetyMarginBlocks} safety blocks`,
  );
  output.out(
    `agent key:     ${process.env.AGENT_SECRET_KEY?.trim() ? 'AGENT_SECRET_KEY (valid; not shown)' : config.keyFile}`,
  );
  output.out('configuration OK');
  output.out(
    'not checked:   that the relays, the Lightning node and the database are reachable and accept the agent (`escrow-agent start` connects to them)',
  );
  return 0;
}

function relayFlags(relay: { read: boolean; write: boolean }): string {
  return [relay.read ? 'read' : '', relay.write ? 'write' : ''].filter(Boolean).join('+');
}
