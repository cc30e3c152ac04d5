import type { AgentConfig } from '../../agent/config.ts';
import { requiredFinalCltv, totalWindowSeconds } from '../../domain/deadlines.ts';
import type { Output } from '../cli.ts';

/** Prints the effective configuration and the hold it needs; loading it already checked every rule. */
export async function checkConfigCommand(config: AgentConfig, output: Output): Promise<number> {
  const { policy } = config;
  const cltv = requiredFinalCltv(policy.windows, policy);
  output.out(`configuration: ${config.source}`);
  output.out(`database:      ${redactUrl(config.databaseUrl)}`);
  output.out(
    `lightning:     ${config.lightning.backend}${config.lightning.url ? ` (${config.lightning.url})` : ''}`,
  );
  output.out(`relays:        ${config.relays ? config.relays.join(', ') : config.relaysFile}`);
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

export function redactUrl(url: string): string {
  return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
}
