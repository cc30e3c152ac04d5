// The operator's HTTP endpoint (`escrow-agent start`, [http] in the configuration, default 127.0.0.1:8080):
//   GET /health       200 when every check holds, 503 with the failing ones otherwise (JSON, docs/operations.md)
//   GET /metrics      Prometheus text format (the names monitoring/ uses)
//   GET /verify.html  the verification page (dist/verify.html), also at /
//   GET /board.html   the task board page (dist/board.html): post, pay, claim, submit, approve in the browser
// Nothing here changes anything but the health probe's own row. Only GET and HEAD; no request body is read; slow or
// idle connections are cut, and connections are capped, so that a scraper or a stranger cannot hold the agent.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { redactSecrets } from './redact.ts';
import type { RunningAgent } from './run-agent.ts';

export interface HealthCheck {
  ok: boolean;
  /** What was seen, in words an operator can act on. */
  detail: string;
  [key: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'failing';
  failing: string[];
  checks: Record<'relays' | 'lightning' | 'database' | 'audit' | 'intake', HealthCheck>;
}

export interface HttpServer {
  /** http://host:port, with the port the system gave when 0 was asked for. */
  url: string;
  stop(): Promise<void>;
}

/** A /health answer is reused for this long, so that a flood of probes costs one database write a second. */
const HEALTH_REUSE_MS = 1000;
const MAX_CONNECTIONS = 64;

export async function startHttpServer(options: {
  host: string;
  port: number;
  agent: RunningAgent;
  log: Logger;
  /** The verification page's file (dist/verify.html); not served when null or missing. */
  verifyPage: string | null;
  /** The task board page's file (dist/board.html); not served when null, absent or missing. */
  boardPage?: string | null;
}): Promise<HttpServer> {
  const { agent, log } = options;
  let cached: { at: number; report: Promise<HealthReport> } | null = null;
  const health = () => {
    const at = Date.now();
    if (!cached || at - cached.at > HEALTH_REUSE_MS) cached = { at, report: checkHealth(agent) };
    return cached.report;
  };
  const page = readPage(options.verifyPage);
  const board = readPage(options.boardPage ?? null);

  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => {
    route(request, response).catch((error) => {
      log.warn({ err: error, path: request.url }, 'an HTTP request failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = 5_000;

  async function route(request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
    }
    if (path === '/health') {
      const report = await health();
      return send(
        response,
        report.status === 'ok' ? 200 : 503,
        'application/json',
        `${JSON.stringify(report)}\n`,
      );
    }
    if (path === '/metrics') {
      const registry = agent.ctx.metrics.registry;
      return send(response, 200, registry.contentType, await registry.metrics());
    }
    if ((path === '/' || path === '/verify.html') && page !== null) {
      return send(response, 200, 'text/html; charset=utf-8', page);
    }
    if (path === '/board.html' && board !== null) {
      return send(response, 200, 'text/html; charset=utf-8', board);
    }
    const pages = [...(page === null ? [] : ['/verify.html']), ...(board === null ? [] : ['/board.html'])];
    return send(
      response,
      404,
      'text/plain; charset=utf-8',
      `not found: try /health, /metrics${pages.map((one) => `, ${one}`).join('')}\n`,
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, type: string, body: string) {
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function readPage(path: string | null): string | null {
  if (path === null) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Every check, each on its own: one failing never hides another. */
export async function checkHealth(agent: RunningAgent): Promise<HealthReport> {
  const [relays, lightning, database, audit, intake] = await Promise.all([
    checkRelays(agent),
    checkLightning(agent),
    checkDatabase(agent),
    checkAudit(agent),
    checkIntake(agent),
  ]);
  const checks = { relays, lightning, database, audit, intake };
  const failing = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name);
  return { status: failing.length === 0 ? 'ok' : 'failing', failing, checks };
}

async function checkRelays(agent: RunningAgent): Promise<HealthCheck> {
  agent.relayWatch.check();
  const reach = agent.relayWatch.reach();
  const hearing = reach.readRelays === 0 || reach.reading.length > 0;
  const quorum = reach.writeRelays === 0 || reach.taking.length >= reach.quorum;
  const problems = [
    ...(hearing ? [] : [`no read relay connected (of ${reach.readRelays})`]),
    ...(quorum
      ? []
      : [`${reach.taking.length} write relay(s) take events, the publish quorum is ${reach.quorum}`]),
  ];
  return {
    ok: problems.length === 0,
    detail:
      problems.join('; ') ||
      `${reach.reading.length} of ${reach.readRelays} read relay(s) connected, ${reach.taking.length} of ${reach.writeRelays} write relay(s) take events (quorum ${reach.quorum})`,
    reading: reach.reading,
    taking: reach.taking,
    quorum: reach.quorum,
  };
}

async function checkLightning(agent: RunningAgent): Promise<HealthCheck> {
  const probe = await agent.nodeWatch.probe();
  return {
    ok: probe.up,
    detail: probe.up
      ? `the node answers at height ${probe.height}`
      : `the node is not usable: ${redactSecrets(probe.problem ?? 'no answer')}`,
    height: probe.height,
  };
}

async function checkDatabase(agent: RunningAgent): Promise<HealthCheck> {
  try {
    const at = Math.floor(Date.now() / 1000);
    await agent.ctx.store.transaction((tx) => tx.settings.set('health_probe', { at }));
    return { ok: true, detail: 'the database takes writes' };
  } catch (error) {
    return { ok: false, detail: `the database refused a write: ${redactSecrets((error as Error).message)}` };
  }
}

async function checkAudit(agent: RunningAgent): Promise<HealthCheck> {
  const last = agent.auditWatch.last();
  if (last === null) return { ok: true, detail: 'the first audit walk has not finished yet' };
  const { report } = last;
  return {
    ok: report.ok,
    detail: report.ok
      ? `${report.tasksChecked} task chain(s), ${report.rowsChecked} row(s) intact at the last walk`
      : `${report.problems.length} problem(s) in the audit chains: run escrow-agent verify-db`,
    checkedAt: Math.floor(last.at / 1000),
  };
}

async function checkIntake(agent: RunningAgent): Promise<HealthCheck> {
  const state = agent.maintenance();
  return {
    ok: !state.paused,
    detail: state.paused
      ? `paused for maintenance since ${new Date((state.since ?? 0) * 1000).toISOString()}${state.reason ? ` (${state.reason})` : ''}: new tasks are refused, posted ones are served (escrow-agent resume)`
      : 'new tasks are taken',
    paused: state.paused,
  };
}
