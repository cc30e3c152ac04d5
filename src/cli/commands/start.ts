// `escrow-agent start`: the running agent. On the embedded defaults it also runs, in this process (each on a
// worker thread of its own), a relay on 127.0.0.1:7777 and the LDK sandbox (three real LDK nodes on a regtest
// chain mined every 30 s), with SQLite in ./data; lightning.backend = "nwc" or "lnd" uses a real node instead.
// Stops cleanly on SIGINT / SIGTERM.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentConfig } from '../../agent/config.ts';
import { connectLightning } from '../../agent/connect-lightning.ts';
import { startHttpServer } from '../../agent/http-server.ts';
import { createLogger } from '../../agent/logger.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import { loadRelayList } from '../../agent/relay-list.ts';
import { runAgent } from '../../agent/run-agent.ts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { redactSecrets, redactUrl } from '../redact.ts';
import { startRunbookControl } from './runbook.ts';

export async function startCommand(config: AgentConfig, output: Output): Promise<number> {
  // Secret fields censored, every other string of a line through redactSecrets (src/agent/redact.ts).
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const relayList = loadRelayList({ file: config.relaysFile, urls: config.relays });
  // The data folder's lock, then the keys checked against the database, then the store (closing it unlocks).
  const { store, createdKey, identity } = await openAgentStore(config, { agentKey: 'create' });
  const stops: Array<() => Promise<void>> = [() => store.close()];
  try {
    const embedded = config.embeddedRelay;
    let embeddedWarning: string | null = null;
    let embeddedUrl: string | null = null;
    if (embedded) {
      // It runs on a worker thread of its own: its signature checks and fsyncs stay off the agent's event loop. The
      // relay server, its libraries and its SQLite event store are loaded on that thread only (relay-thread.ts
      // imports none of them here), and only when configured.
      const { startRelayThread } = await import('../../relay/relay-thread.ts');
      const relay = await startRelayThread(
        { ...embedded, dbPath: join(config.dataDir, 'relay.sqlite') },
        log.child({ component: 'relay' }),
      ).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') {
          throw new CliError(
            `port ${embedded.port} is taken: stop what uses it, or set nostr.embedded_relay to another host:port (or "off")`,
          );
        }
        throw error;
      });
      stops.unshift(() => relay.stop());
      embeddedUrl = relay.url;
      output.out(`relay:     ${relay.url} (embedded, data in ${join(config.dataDir, 'relay.sqlite')})`);
      if (!relayList.relays.some((listed) => sameRelay(listed.url, relay.url))) {
        embeddedWarning = `the embedded relay ${relay.url} is not in the relay list (${relayList.source}): the agent neither reads nor publishes there; add it to the list, or set nostr.embedded_relay = "off"`;
        log.warn(
          { relay: relay.url, relayList: relayList.source },
          'the embedded relay is not in the relay list',
        );
      }
    }
    // On the sandbox, NIP-47 wallets for its payer and worker nodes on the embedded relay: the task board pays
    // and is paid through them (their URIs are written to files; only the paths are printed).
    const lightning = await connectLightning(config, log, {
      walletRelays: embeddedUrl === null ? [] : [embeddedUrl],
    });
    stops.unshift(() => lightning.close());
    const agent = await runAgent({
      store,
      lightning: lightning.backend,
      identity,
      policy: config.policy,
      arbitrators: config.arbitrators,
      rate: config.policy.rateLimit,
      relays: relayList.relays,
      publishQuorum: config.publishQuorum,
      pool: { budgets: config.relayBudgets },
      relayTroubleSeconds: config.relayTroubleSeconds,
      headsEvery: config.headsEvery,
      ...(config.verifyThreads === null ? {} : { verifyThreads: config.verifyThreads }),
      intakeConcurrency: config.intakeConcurrency,
      readBack:
        config.readBack.intervalSeconds === 0
          ? false
          : { intervalMs: config.readBack.intervalSeconds * 1000, eventsPerCheck: config.readBack.events },
      log,
    });
    stops.unshift(() => agent.stop());
    // The runbook commands (holds stuck, settle-stuck, …) reach the running agent through <data_dir>/control.sock.
    const control = await startRunbookControl(config, agent, log.child({ component: 'control' }));
    if (control) stops.unshift(() => control.close());
    let httpUrl: string | null = null;
    if (config.http.enabled) {
      const http = await startHttpServer({
        host: config.http.host,
        port: config.http.port,
        agent,
        log: log.child({ component: 'http' }),
        verifyPage: fileURLToPath(new URL('../../../dist/verify.html', import.meta.url)),
        boardPage: fileURLToPath(new URL('../../../dist/board.html', import.meta.url)),
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES') {
          throw new CliError(
            `cannot listen on ${config.http.host}:${config.http.port} (${error.code === 'EADDRINUSE' ? 'taken' : 'not allowed'}): set http.port (HTTP_PORT) to a free port, 0 for any, or http.enabled = false`,
          );
        }
        throw error;
      });
      stops.unshift(() => http.stop());
      httpUrl = http.url;
    }
    if (createdKey)
      output.out(`created the preimage encryption key ${config.preimageKeyFile} (mode 0600): back it up`);
    if (identity.created) output.out(`created the agent key ${config.keyFile} (mode 0600): back it up`);
    output.out(`agent:     ${identity.npub}`);
    output.out(
      `relays:    ${redactSecrets(relayList.relays.map((relay) => relay.url).join(', '))} (from ${relayList.source})`,
    );
    if (embeddedWarning) output.out(`warning:   ${embeddedWarning}`);
    output.out(`database:  ${redactUrl(config.databaseUrl)}`);
    output.out(`lightning: ${redactSecrets(lightning.describe)}`);
    output.out(
      httpUrl
        ? `http:      ${httpUrl}/health, ${httpUrl}/metrics, ${httpUrl}/verify.html`
        : 'http:      off (http.enabled = false): no /health or /metrics',
    );
    // The task board, its agent and relays filled in (dist/board.html works opened from disk too).
    const boardHash = `#agent=${identity.npub}&relays=${relayList.relays.map((relay) => redactSecrets(relay.url)).join(',')}`;
    output.out(
      httpUrl
        ? `board:     ${httpUrl}/board.html${boardHash} (post, pay, claim and approve tasks in the browser)`
        : `board:     open dist/board.html${boardHash} from disk (the HTTP server is off)`,
    );
    if (lightning.wallets) {
      output.out(
        `wallets:   ${lightning.wallets.payer} (pays offers), ${lightning.wallets.worker} (makes payout invoices): NIP-47 connections for the board; each file holds a secret, paste its content into the board only`,
      );
    }
    output.out(
      control
        ? `control:   ${control.path} (the runbook commands reach the agent through it: docs/runbooks.md)`
        : 'control:   none (see the warning above): the runbook commands need the agent stopped',
    );
    if (config.lightning.backend === 'sandbox') {
      // `ln` finds the sandbox through the data folder the configuration names: pass the same file.
      const withConfig = config.source === 'defaults' ? '' : ` --config ${config.source}`;
      output.out(
        `try:       \`npx escrow-agent ln info${withConfig}\` (the sandbox nodes), \`npx escrow-agent ln pay${withConfig} <bolt11>\` (fund an offer)`,
      );
    }
    output.out(
      'next:      in another terminal, `npx escrow-agent demo` runs a whole task lifecycle on its own embedded set-up',
    );
    await waitForSignal();
    output.out('stopping…');
    return 0;
  } finally {
    for (const stop of stops) await stop().catch((error) => log.error({ err: error }, 'stop failed'));
  }
}

/** The same relay: one spelling, with every loopback or unspecified host (the embedded relay's bind address)
 * taken as this machine. */
function sameRelay(listed: string, embedded: string): boolean {
  const local = (url: string) => {
    try {
      const parsed = new URL(url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      if (['localhost', '127.0.0.1', '::1', '0.0.0.0', '::'].includes(host)) parsed.hostname = 'localhost';
      return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
    } catch {
      return url;
    }
  };
  return local(listed) === local(embedded);
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
