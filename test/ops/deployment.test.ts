// The deployment files (Dockerfile, .dockerignore, docker-compose.yml, docs/deployment.md). No Docker daemon runs
// here, so the image is not built: the Dockerfile is read for what it must say (two stages, production
// dependencies only, a non-root user, a health check on /health), the configuration it bakes in is loaded with the
// agent's own loadConfig (with the environment the compose file gives the agent), the compiled CLI is shown to
// import only production dependencies, and `docker-compose config` (Debian's docker-compose, which .ci/run
// installs) validates the compose file: five services, every published port on 127.0.0.1 only, the monitoring
// files mounted where their configurations point. Without docker-compose those cases print one SKIP line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/agent/config.ts';
import { USAGE } from '../../src/cli/cli.ts';
import { ensureBuiltCli, ROOT } from '../fakes/built-cli.ts';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const composeVersion = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
const haveCompose = !composeVersion.error && composeVersion.status === 0;
if (!haveCompose) {
  console.log(
    "SKIP docker-compose config: docker-compose is not on PATH (.ci/run installs Debian's docker-compose with apt-get when it can)",
  );
}
const composeTest = haveCompose ? test : test.skip;

// ------------------------------------------------------------------------------------------ the Dockerfile

interface Stage {
  from: string;
  name: string;
  /** Instructions with their continuation lines joined, comments left out. */
  instructions: string[];
}

function dockerfileStages(): Stage[] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, '\u0000'); // keep continuation lines apart for the printf reader, as NUL
  const stages: Stage[] = [];
  for (const line of joined.split('\n')) {
    if (line.trim() === '') continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1] ?? '', name: from[2] ?? '', instructions: [] });
    else stages[stages.length - 1]?.instructions.push(line);
  }
  return stages;
}

const flat = (instruction: string) => instruction.replaceAll('\u0000', ' ').replace(/\s+/g, ' ');

/** One shell word made of '...' and "..." pieces (the Dockerfile writes a ' as '"'"'). */
function shellWord(text: string): string {
  let word = '';
  let at = 0;
  while (at < text.length) {
    const quote = text[at];
    if (quote !== "'" && quote !== '"') throw new Error(`not a quoted word: ${text}`);
    const end = text.indexOf(quote, at + 1);
    if (end < 0) throw new Error(`unterminated quote in ${text}`);
    word += text.slice(at + 1, end);
    at = end + 1;
  }
  return word;
}

/** The configuration file the image writes with printf, line by line. */
function imageConfiguration(): string {
  const runtime = dockerfileStages().at(-1);
  const run = runtime?.instructions.find(
    (instruction) =>
      instruction.startsWith('RUN') && instruction.includes('> /etc/escrow-agent/escrow-agent.toml'),
  );
  assert.ok(run, 'the runtime stage writes /etc/escrow-agent/escrow-agent.toml');
  const pieces = run.split('\u0000').map((piece) => piece.trim());
  const start = pieces.findIndex((piece) => piece.includes("printf '%s\\n'"));
  const end = pieces.findIndex((piece) => piece.startsWith('> /etc/escrow-agent/escrow-agent.toml'));
  assert.ok(start >= 0 && end > start, "printf '%s\\n' ... > /etc/escrow-agent/escrow-agent.toml");
  return `${pieces
    .slice(start + 1, end)
    .map(shellWord)
    .join('\n')}\n`;
}

test('the Dockerfile builds in one stage and runs the production dependencies as a non-root user in another', () => {
  const stages = dockerfileStages();
  assert.equal(
    stages.map((stage) => `${stage.from} AS ${stage.name}`),
    ['node:20-bookworm-slim AS build', 'node:20-bookworm-slim AS runtime'],
  );
  const [build, runtime] = stages as [Stage, Stage];
  const buildText = build.instructions.map(flat).join('\n');
  assert.match(buildText, /apt-get install -y --no-install-recommends python3 make g\+\+/);
  assert.match(buildText, /npm ci /);
  assert.match(buildText, /npm rebuild better-sqlite3/, 'the native SQLite module is built');
  assert.match(buildText, /npm run build && npm prune --omit=dev/);
  const runtimeText = runtime.instructions.map(flat).join('\n');
  assert.not.match(
    runtimeText,
    /apt-get|npm (ci|install)|g\+\+/,
    'no build tools or installs in the runtime stage',
  );
  for (const path of ['node_modules', 'dist', 'drizzle', 'bin', 'package.json']) {
    assert.match(
      runtimeText,
      new RegExp(`COPY --from=build \\S*/app/${path}`),
      `the runtime stage has ${path}`,
    );
  }
  // bin/escrow-agent.js runs dist/ only when dist/.built is newer than src/: renewed after src/ exists.
  assert.match(runtimeText, /mkdir src && touch dist\/\.built/);
  const users = runtime.instructions.filter((instruction) => /^USER\s/.test(instruction));
  assert.equal(users, ['USER node'], 'the runtime stage switches to the node user once, for good');
  const userAt = runtime.instructions.indexOf('USER node');
  const entrypointAt = runtime.instructions.findIndex((instruction) => instruction.startsWith('ENTRYPOINT'));
  assert.ok(userAt >= 0 && userAt < entrypointAt, 'USER node comes before the entrypoint');
  assert.ok(runtime.instructions.includes('ENTRYPOINT ["node", "/app/bin/escrow-agent.js"]'));
  assert.ok(runtime.instructions.includes('CMD ["start"]'));
  assert.ok(runtime.instructions.includes('VOLUME ["/data"]'));
  assert.match(runtimeText, /chown node:node \/data/);
});

test("the image's health check asks /health on the port its configuration serves, with node (no curl)", () => {
  const runtime = dockerfileStages().at(-1) as Stage;
  const healthcheck = runtime.instructions
    .map(flat)
    .find((instruction) => instruction.startsWith('HEALTHCHECK'));
  assert.ok(healthcheck, 'a HEALTHCHECK');
  const config = loadFromText(imageConfiguration(), {});
  assert.match(healthcheck, 'CMD ["node", "-e", "fetch(');
  assert.match(
    healthcheck,
    `'http://127.0.0.1:' + (process.env.HTTP_PORT || ${config.http.port}) + '/health'`,
  );
  assert.match(healthcheck, 'process.exit(r.ok ? 0 : 1), () => process.exit(1)');
});

/** loadConfig on a configuration text, as the image reads it (ESCROW_CONFIG), with an environment. */
function loadFromText(text: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-image-config-'));
  try {
    const file = join(dir, 'escrow-agent.toml');
    writeFileSync(file, text);
    return loadConfig({ env: { ...env, ESCROW_CONFIG: file }, cwd: '/app' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the image's configuration is one this agent loads: /data, no embedded relay, HTTP on every interface", () => {
  const text = imageConfiguration();
  assert.match(read('Dockerfile'), /ESCROW_CONFIG=\/etc\/escrow-agent\/escrow-agent\.toml/);
  const config = loadFromText(text, {});
  assert.equal(config.dataDir, '/data');
  assert.equal(config.keyFile, '/data/agent.key');
  assert.equal(config.preimageKeyFile, '/data/preimage.key');
  assert.equal(config.embeddedRelay, null);
  assert.equal([config.http.host, config.http.port], ['0.0.0.0', 8080]);
  assert.not.equal((config.http as { enabled?: boolean }).enabled, false, 'the HTTP endpoint is on');
  assert.equal(config.relaysFile, '/data/relays.json');
  assert.equal(config.relays, null);
});

test('the image does not send its sources, keys or local modules into the build context', () => {
  const rules = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  assert.equal(rules[0], '*', 'the context is an allowlist');
  const allowed = rules.filter((rule) => rule.startsWith('!')).map((rule) => rule.slice(1));
  for (const path of allowed) {
    assert.not.match(
      path,
      /^(data|node_modules|dist|\.env|\.git)\b|\.key$|\.db$|\*/,
      `${path} must stay out`,
    );
    assert.ok(
      statSync(join(ROOT, path), { throwIfNoEntry: false }),
      `.dockerignore allows ${path}, which is missing`,
    );
  }
  // Every file the build stage copies from the context is allowed in, and exists.
  const build = dockerfileStages()[0] as Stage;
  for (const instruction of build.instructions.map(flat)) {
    const copy = /^COPY (?!--from)(.+) \S+$/.exec(instruction);
    if (!copy) continue;
    for (const source of (copy[1] ?? '').split(' ')) {
      assert.ok(
        allowed.some((path) => source === path || source.startsWith(`${path}/`)),
        `COPY ${source}: not in .dockerignore's allowlist`,
      );
      assert.ok(statSync(join(ROOT, source), { throwIfNoEntry: false }), `COPY ${source}: missing`);
    }
  }
});

test('the compiled CLI imports only production dependencies (the runtime stage has no others)', () => {
  ensureBuiltCli();
  const pkg = JSON.parse(read('package.json')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const builtins = new Set(builtinModules);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) files.push(path);
    }
  };
  walk(join(ROOT, 'dist'));
  assert.ok(files.length > 50, 'dist/ holds the compiled CLI');
  const used = new Map<string, string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]|require(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/gm,
    )) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? match[4] ?? '';
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
      if (!used.has(name)) used.set(name, relative(ROOT, file));
    }
  }
  assert.ok(
    used.has('better-sqlite3') && used.has('lightningdevkit'),
    'the scan finds the native and WASM modules',
  );
  const notProduction = [...used].filter(([name]) => !(name in pkg.dependencies));
  assert.equal(
    notProduction.map(
      ([name, file]) => `${name} (${file})${name in pkg.devDependencies ? ': a devDependency' : ''}`,
    ),
    [],
  );
});

// ------------------------------------------------------------------------------------------ docker-compose.yml

type ComposeService = {
  build?: unknown;
  image?: string;
  environment?: Record<string, string | null>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: unknown;
  command?: string[] | string;
};
type Compose = { services: Record<string, ComposeService> };

const SECRETS = {
  POSTGRES_PASSWORD: 'pg0password0for0tests',
  GRAFANA_ADMIN_PASSWORD: 'grafana0password0for0tests',
};

/** `docker-compose config` with only the given variables (no .env, none of the shell's), and its exit status. */
function composeConfig(variables: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-compose-'));
  try {
    const envFile = join(dir, 'empty.env');
    writeFileSync(envFile, '');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...variables };
    const result = spawnSync(
      'docker-compose',
      ['--env-file', envFile, '-f', 'docker-compose.yml', 'config'],
      {
        cwd: ROOT,
        env,
        encoding: 'utf8',
      },
    );
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The normalised compose file as data: parsed by the YAML library docker-compose itself runs on (PyYAML). */
function parseComposeOutput(yaml: string): Compose {
  const located = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).stdout.trim();
  const shebang = readFileSync(located, 'utf8').split('\n')[0] ?? '';
  const python = /^#!\s*(\S*python\S*)/.exec(shebang)?.[1] ?? 'python3';
  const parsed = spawnSync(
    python,
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: yaml, encoding: 'utf8' },
  );
  assert.equal(parsed.status, 0, `could not read the output of docker-compose config: ${parsed.stderr}`);
  return JSON.parse(parsed.stdout) as Compose;
}

let composeCache: Compose | null = null;
function compose(): Compose {
  if (composeCache) return composeCache;
  const result = composeConfig(SECRETS);
  assert.equal(result.status, 0, result.output);
  composeCache = parseComposeOutput(result.output);
  return composeCache;
}

const portsOf = (service: ComposeService) =>
  (service.ports ?? []).map((port) => {
    if (typeof port !== 'string')
      return { hostIp: port.host_ip ?? '', published: String(port.published ?? ''), target: port.target };
    const [spec = ''] = port.split('/');
    const parts = spec.split(':');
    return parts.length === 3
      ? { hostIp: parts[0] ?? '', published: parts[1] ?? '', target: Number(parts[2]) }
      : { hostIp: '', published: parts.length === 2 ? (parts[0] ?? '') : '', target: Number(parts.at(-1)) };
  });

const mountsOf = (service: ComposeService) =>
  (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string')
      return { source: volume.source ?? '', target: volume.target, readOnly: !!volume.read_only };
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode === 'ro' };
  });

composeTest(
  'docker-compose config accepts the compose file: agent, PostgreSQL, a relay, Prometheus, Grafana',
  () => {
    const { services } = compose();
    assert.equal(Object.keys(services).sort(), ['agent', 'grafana', 'postgres', 'prometheus', 'relay']);
    assert.ok(services.agent?.build, 'the agent is built from the Dockerfile');
    assert.ok(services.postgres?.healthcheck, 'PostgreSQL has a health check the agent waits for');
    const dependsOn = services.agent?.depends_on as Record<string, { condition: string }>;
    assert.equal(dependsOn.postgres?.condition, 'service_healthy');
  },
);

composeTest('every published port is bound to 127.0.0.1, and PostgreSQL publishes none', () => {
  const { services } = compose();
  const open: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    for (const port of portsOf(service)) {
      if (port.hostIp !== '127.0.0.1')
        open.push(`${name}: ${port.published}:${port.target} on ${port.hostIp || 'every interface'}`);
    }
  }
  assert.equal(open, []);
  assert.equal(portsOf(services.postgres as ComposeService), []);
  const config = loadFromText(imageConfiguration(), {});
  assert.equal(
    portsOf(services.agent as ComposeService).map((port) => port.target),
    [config.http.port],
    "the agent's published port is the one its configuration serves",
  );
});

composeTest(
  "the agent's environment and the image's configuration load together: PostgreSQL, the relay",
  () => {
    const agent = compose().services.agent as ComposeService;
    const environment = Object.fromEntries(
      Object.entries(agent.environment ?? {}).map(([key, value]) => [key, value ?? '']),
    );
    const config = loadFromText(imageConfiguration(), environment);
    assert.equal(config.databaseUrl, `postgres://escrow:${SECRETS.POSTGRES_PASSWORD}@postgres:5432/escrow`);
    assert.equal(config.relays, ['ws://relay:8080'], 'the relay service, on its container port');
    assert.equal(config.lightning.backend, 'sandbox');
    assert.equal(config.http.host, '0.0.0.0');
    assert.ok(
      mountsOf(agent).some((mount) => mount.target === config.dataDir),
      'the data folder is a volume',
    );
    const relay = compose().services.relay as ComposeService;
    assert.equal(
      portsOf(relay).map((port) => port.target),
      [8080],
    );
  },
);

composeTest('a missing PostgreSQL or Grafana password stops docker-compose config, naming it', () => {
  const withoutDatabase = composeConfig({ GRAFANA_ADMIN_PASSWORD: 'x' });
  assert.not.equal(withoutDatabase.status, 0);
  assert.match(withoutDatabase.output, 'set POSTGRES_PASSWORD in .env');
  const withoutGrafana = composeConfig({ POSTGRES_PASSWORD: 'x' });
  assert.not.equal(withoutGrafana.status, 0);
  assert.match(withoutGrafana.output, 'set GRAFANA_ADMIN_PASSWORD in .env');
});

composeTest(
  'Prometheus gets the configuration and the alert rules; Grafana the provisioning and the dashboard',
  () => {
    const { services } = compose();
    const prometheusMounts = mountsOf(services.prometheus as ComposeService);
    const mounted = (mounts: ReturnType<typeof mountsOf>, source: string) =>
      mounts.find((mount) => mount.source === join(ROOT, source));
    assert.equal(
      mounted(prometheusMounts, 'monitoring/prometheus.yml')?.target,
      '/etc/prometheus/prometheus.yml',
    );
    // prometheus.yml names alerts/escrow.yml relative to itself.
    assert.equal(mounted(prometheusMounts, 'monitoring/alerts')?.target, '/etc/prometheus/alerts');
    assert.ok(
      ([] as string[])
        .concat(services.prometheus?.command ?? [])
        .includes('--config.file=/etc/prometheus/prometheus.yml'),
    );
    assert.match(read('monitoring/prometheus.yml'), /targets: \[["']agent:8080["']\]/);
    const grafanaMounts = mountsOf(services.grafana as ComposeService);
    assert.equal(
      mounted(grafanaMounts, 'monitoring/grafana/provisioning')?.target,
      '/etc/grafana/provisioning',
    );
    const provider = read('monitoring/grafana/provisioning/dashboards/escrow.yml');
    const dashboards = mounted(grafanaMounts, 'monitoring/dashboards');
    assert.ok(dashboards, 'the dashboards folder is mounted');
    assert.match(provider, `path: ${dashboards.target}\n`, 'the dashboard provider reads the mounted folder');
    assert.match(
      read('monitoring/grafana/provisioning/datasources/prometheus.yml'),
      'url: http://prometheus:9090\n',
    );
    for (const mount of [...prometheusMounts, ...grafanaMounts].filter((mount) =>
      mount.source.startsWith(ROOT),
    )) {
      assert.ok(mount.readOnly, `${mount.source} is mounted read-only`);
    }
  },
);

// ------------------------------------------------------------------------------------------ docs/deployment.md

/** Commands issue #13 is still adding (maintenance mode, keys); once the CLI's USAGE lists one, drop it here. */
const COMMANDS_BEING_ADDED = ['keys', 'pause', 'resume'];

test('the deployment guide and the alerts name only commands the CLI has and keys the configuration has', () => {
  const commands = new Set([...USAGE.matchAll(/^ {2}([a-z][a-z-]+)\b/gm)].map((match) => match[1] ?? ''));
  assert.ok(commands.has('start') && commands.has('migrate') && commands.has('backup-events'));
  const named = new Map<string, string>();
  for (const file of ['docs/deployment.md', 'monitoring/alerts/escrow.yml']) {
    for (const match of read(file).matchAll(/escrow-agent ([a-z][a-z-]+)/g)) named.set(match[1] ?? '', file);
  }
  const unknown = [...named].filter(
    ([command]) => !commands.has(command) && !COMMANDS_BEING_ADDED.includes(command),
  );
  assert.equal(
    unknown.map(([command, file]) => `escrow-agent ${command} (${file})`),
    [],
  );
  const configuration = read('docs/configuration.md');
  const keys = [
    ...read('docs/deployment.md').matchAll(/`((?:agent|database|nostr|lightning|policy|http)\.[a-z_]+)/g),
  ];
  assert.ok(keys.length > 3, 'the guide names configuration keys');
  const unknownKeys = keys
    .map((match) => match[1] ?? '')
    .filter((key) => !configuration.includes(`\`${key}\``) && !configuration.includes(`\`${key}\`,`));
  assert.equal(unknownKeys, []);
});

test.run();
