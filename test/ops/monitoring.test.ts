// The monitoring files an operator deploys (monitoring/): the alert rules, their promtool unit tests, the
// Prometheus configuration and the Grafana dashboard. Every PromQL expression in them may name only metrics the
// agent exports, read from the code (createMetrics' registry), plus Prometheus' own `up`; label matchers name
// labels those metrics have, and task states the domain knows. With promtool (Debian's `prometheus` package,
// which .ci/run installs), the rules are checked and their unit tests run: each alert fires on a synthetic series
// and stays silent on a healthy one, and the unit tests are shown to fail on a rule with a wrong threshold.
// Without promtool those cases are skipped with one SKIP line.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TASK_STATES } from '../../src/domain/types.ts';
import { createMetrics } from '../../src/engine/metrics.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MONITORING = join(ROOT, 'monitoring');
const RULES = join(MONITORING, 'alerts', 'escrow.yml');
const RULE_TESTS = join(MONITORING, 'alerts', 'escrow.test.yml');
const PROMETHEUS_CONFIG = join(MONITORING, 'prometheus.yml');
const DASHBOARD = join(MONITORING, 'dashboards', 'escrow-overview.json');
const DATASOURCE = join(MONITORING, 'grafana', 'provisioning', 'datasources', 'prometheus.yml');

const read = (path: string) => readFileSync(path, 'utf8');

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const havePromtool = !promtool.error && promtool.status === 0;
if (!havePromtool) {
  console.log(
    "SKIP the alert rules with promtool: promtool is not on PATH (.ci/run installs Debian's prometheus package with apt-get when it can)",
  );
}
const promtoolTest = havePromtool ? test : test.skip;

// ------------------------------------------------------------------------------------------ reading the files

/**
 * The values of every `key:` in a YAML file written the way monitoring/ writes it: a plain or quoted scalar on the
 * key's line, or a `>`/`|` block below it. Enough for our own files; the callers check the count against another
 * reading of the same file, so a value written some other way fails the test instead of slipping through.
 */
function yamlValues(text: string, key: string): string[] {
  const lines = text.split('\n');
  const values: string[] = [];
  const pattern = new RegExp(`^(\\s*)(?:- )?${key}:(?:\\s+(.*))?$`);
  for (let index = 0; index < lines.length; index += 1) {
    const match = pattern.exec(lines[index] ?? '');
    if (!match) continue;
    const indent = (match[1] ?? '').length;
    const rest = (match[2] ?? '').trim();
    if (/^[>|][-+]?$/.test(rest)) {
      const block: string[] = [];
      while (index + 1 < lines.length) {
        const next = lines[index + 1] ?? '';
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
        block.push(next.trim());
        index += 1;
      }
      while (block.length > 0 && block[block.length - 1] === '') block.pop();
      values.push(rest.startsWith('>') ? block.join(' ') : block.join('\n'));
    } else if (rest.startsWith("'")) {
      values.push(rest.slice(1, -1).replaceAll("''", "'"));
    } else if (rest.startsWith('"')) {
      values.push(JSON.parse(rest) as string);
    } else {
      values.push(rest.replace(/\s+#.*$/, ''));
    }
  }
  return values;
}

interface Alert {
  name: string;
  expr: string;
  runbook: string;
}

function readAlerts(): Alert[] {
  const text = read(RULES);
  const names = yamlValues(text, 'alert');
  const exprs = yamlValues(text, 'expr');
  const runbooks = yamlValues(text, 'runbook_url');
  assert.equal(exprs.length, names.length, 'every alert has one expr, read as escrow.yml writes it');
  assert.equal(runbooks.length, names.length, 'every alert links its runbook (annotation runbook_url)');
  return names.map((name, index) => ({ name, expr: exprs[index] ?? '', runbook: runbooks[index] ?? '' }));
}

interface Dashboard {
  uid: string;
  panels: Array<{
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    targets?: Array<{ expr: string; datasource?: { type: string; uid: string } }>;
  }>;
}

const dashboard = (): Dashboard => JSON.parse(read(DASHBOARD)) as Dashboard;

// ------------------------------------------------------------------------------------------ PromQL

export interface Selector {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set([
  ...GROUPING,
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
  // aggregation operators: `sum by (x) (...)` puts a grouping between the name and its parenthesis
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/**
 * The series selectors of a PromQL expression: each metric name with its label matchers. Skipped: strings, range
 * and subquery brackets, numbers and durations, comments, Grafana variables ($__rate_interval), functions (a name
 * followed by a parenthesis), keywords and aggregation operators, and the label lists of by / without / on /
 * ignoring / group_left / group_right. A bare `{__name__="x"}` selects metric x.
 */
export function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let at = 0;
  const skipSpace = () => {
    while (at < expr.length && /\s/.test(expr[at] ?? '')) at += 1;
  };
  const readString = (): string => {
    const quote = expr[at];
    at += 1;
    let value = '';
    while (at < expr.length && expr[at] !== quote) {
      if (expr[at] === '\\' && quote !== '`') at += 1;
      value += expr[at] ?? '';
      at += 1;
    }
    if (at >= expr.length) throw new Error(`unterminated string in ${expr}`);
    at += 1;
    return value;
  };
  const skipParenthesised = () => {
    let depth = 0;
    do {
      const char = expr[at];
      if (char === '"' || char === "'" || char === '`') {
        readString();
        continue;
      }
      if (char === '(') depth += 1;
      if (char === ')') depth -= 1;
      at += 1;
    } while (depth > 0 && at < expr.length);
  };
  const readMatchers = (): Selector['matchers'] => {
    const matchers: Selector['matchers'] = [];
    at += 1; // {
    for (;;) {
      skipSpace();
      if (expr[at] === ',') {
        at += 1;
        continue;
      }
      if (expr[at] === '}') {
        at += 1;
        return matchers;
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(expr.slice(at))?.[0];
      if (!label) throw new Error(`cannot read a label matcher at "${expr.slice(at)}" in ${expr}`);
      at += label.length;
      skipSpace();
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(at))?.[0];
      if (!op) throw new Error(`no matcher operator after ${label} in ${expr}`);
      at += op.length;
      skipSpace();
      if (!['"', "'", '`'].includes(expr[at] ?? ''))
        throw new Error(`no quoted value after ${label}${op} in ${expr}`);
      matchers.push({ label, op, value: readString() });
    }
  };
  while (at < expr.length) {
    const char = expr[at] ?? '';
    const rest = expr.slice(at);
    if (/\s/.test(char)) at += 1;
    else if (char === '#') {
      while (at < expr.length && expr[at] !== '\n') at += 1;
    } else if (char === '"' || char === "'" || char === '`') readString();
    else if (char === '[') {
      while (at < expr.length && expr[at] !== ']') at += 1;
      at += 1;
    } else if (char === '$') {
      at += /^\$(\{[^}]*\}|[a-zA-Z0-9_]*)/.exec(rest)?.[0].length ?? 1;
    } else if (/[0-9.]/.test(char)) {
      at += /^(0x[0-9a-fA-F]+|[0-9.]+(?:[eE][+-]?[0-9]+)?[a-zA-Z0-9]*)/.exec(rest)?.[0].length ?? 1;
    } else if (char === '{') {
      const matchers = readMatchers();
      const name = matchers.find((matcher) => matcher.label === '__name__' && matcher.op === '=');
      if (!name) throw new Error(`a selector without a metric name in ${expr}`);
      selectors.push({ metric: name.value, matchers: matchers.filter((matcher) => matcher !== name) });
    } else if (/[a-zA-Z_:]/.test(char)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest)?.[0] ?? char;
      at += word.length;
      skipSpace();
      const lower = word.toLowerCase();
      if (GROUPING.has(lower) && expr[at] === '(') skipParenthesised();
      else if (expr[at] === '(' || KEYWORDS.has(lower)) {
        // a function or an aggregation: its arguments are read by the loop
      } else {
        selectors.push({ metric: word, matchers: expr[at] === '{' ? readMatchers() : [] });
      }
    } else at += 1;
  }
  return selectors;
}

test('the PromQL reader finds the metrics of an expression and nothing else', () => {
  const names = (expr: string) => selectorsOf(expr).map((selector) => selector.metric);
  assert.equal(names('sum by (operation) (increase(ldk_invoice_failures_total[10m])) > 5'), [
    'ldk_invoice_failures_total',
  ]);
  assert.equal(
    names(
      'histogram_quantile(0.95, sum by (le) (rate(settlement_duration_seconds_bucket[$__rate_interval])))',
    ),
    ['settlement_duration_seconds_bucket'],
  );
  assert.equal(
    names('escrow_blocks_to_nearest_hold_deadline != -1 and escrow_blocks_to_nearest_hold_deadline <= 6'),
    ['escrow_blocks_to_nearest_hold_deadline', 'escrow_blocks_to_nearest_hold_deadline'],
  );
  assert.equal(names('sum without (instance) (a) / on (job) group_left (relay, kind) b offset 5m'), [
    'a',
    'b',
  ]);
  assert.equal(names('sum(x) by (job) > bool 1e3 or count(y) without (le) unless z offset 1h30m'), [
    'x',
    'y',
    'z',
  ]);
  assert.equal(names('label_replace(up, "dst", "$1", "src", "(.*)") # comment_name\n+ job:rate:5m'), [
    'up',
    'job:rate:5m',
  ]);
  assert.equal(names('max_over_time(deriv(q[5m])[1h:30s] @ end()) > Inf and r < NaN'), ['q', 'r']);
  assert.equal(names('topk(3, sum by (relay) (escrow_relay_connected)) * 60 / 0x10'), [
    'escrow_relay_connected',
  ]);
  assert.equal(names(`\${DS} + $var`), []);
});

test('the PromQL reader keeps each selector label matchers, whatever the strings hold', () => {
  assert.equal(selectorsOf('up{job="escrow-agent"} == 0'), [
    { metric: 'up', matchers: [{ label: 'job', op: '=', value: 'escrow-agent' }] },
  ]);
  assert.equal(selectorsOf(`sum(rate(x{state="by (not) y{z}", relay!~'a\\'b'}[5m:1m]))`), [
    {
      metric: 'x',
      matchers: [
        { label: 'state', op: '=', value: 'by (not) y{z}' },
        { label: 'relay', op: '!~', value: "a'b" },
      ],
    },
  ]);
  assert.equal(selectorsOf('{__name__="tasks_by_state", state=~"funded|claimed"}'), [
    { metric: 'tasks_by_state', matchers: [{ label: 'state', op: '=~', value: 'funded|claimed' }] },
  ]);
  assert.throws(() => selectorsOf('{state="funded"}'), /without a metric name/);
  assert.throws(() => selectorsOf('x{state="funded}'), /unterminated string/);
});

// ------------------------------------------------------------------------------------------ what the agent exports

/** Every series name the agent exports (a histogram as _bucket, _sum, _count) and each one's label names. */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const { registry } = createMetrics();
  const exported = new Map<string, Set<string>>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const labels = new Set<string>(
      (registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? [],
    );
    const suffixes =
      String(metric.type) === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : String(metric.type) === 'summary'
          ? ['', '_sum', '_count']
          : [''];
    for (const suffix of suffixes) {
      exported.set(`${metric.name}${suffix}`, suffix === '_bucket' ? new Set([...labels, 'le']) : labels);
    }
  }
  // Prometheus' own: whether a scrape target answered.
  exported.set('up', new Set(['job', 'instance']));
  return exported;
}

/** What is wrong with an expression's selectors: a metric the agent does not export, a label it lacks, a state the domain does not know. */
function problemsOf(where: string, expr: string, exported: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const states = new Set<string>(TASK_STATES);
  for (const { metric, matchers } of selectorsOf(expr)) {
    const labels = exported.get(metric);
    if (!labels) {
      problems.push(`${where}: ${metric} is not a metric the agent exports (src/engine/metrics.ts)`);
      continue;
    }
    for (const matcher of matchers) {
      // job and instance are added to every series by the scrape.
      if (!labels.has(matcher.label) && matcher.label !== 'job' && matcher.label !== 'instance') {
        problems.push(`${where}: ${metric} has no label ${matcher.label}`);
      }
      if (metric === 'tasks_by_state' && matcher.label === 'state') {
        for (const state of matcher.value.split('|')) {
          if (!states.has(state))
            problems.push(`${where}: ${state} is not a task state (${TASK_STATES.join(', ')})`);
        }
      }
    }
  }
  return problems;
}

test('the metric check names an unknown metric, a missing label and a state written the wrong way', async () => {
  const exported = await exportedSeries();
  assert.ok(exported.has('settlement_duration_seconds_bucket'), 'a histogram is exported as _bucket');
  assert.ok(exported.get('tasks_by_state')?.has('state'));
  assert.equal(problemsOf('x', 'sum(rate(escrow_outbox_pending[5m]))', exported), []);
  assert.equal(problemsOf('x', 'rate(ldk_invoice_failure_total[5m])', exported), [
    'x: ldk_invoice_failure_total is not a metric the agent exports (src/engine/metrics.ts)',
  ]);
  assert.equal(problemsOf('x', 'escrow_outbox_pending{relay="a"}', exported), [
    'x: escrow_outbox_pending has no label relay',
  ]);
  // The operations document's dashboard wrote the states capitalised: the agent's are lowercase.
  assert.equal(problemsOf('x', "sum(tasks_by_state{state='Funded'})", exported), [
    `x: Funded is not a task state (${TASK_STATES.join(', ')})`,
  ]);
});

// ------------------------------------------------------------------------------------------ the alert rules

const ALERTS_OF_THE_OPERATIONS_DOCUMENT = [
  'StuckHoldInvoices',
  'LDKNodeDown',
  'LowLiquidity',
  'HighInvoiceFailureRate',
  'AuditChainBroken',
];

test("the alert rules hold the operations document's five alerts and the agent's own", () => {
  const names = readAlerts().map((alert) => alert.name);
  for (const name of [
    ...ALERTS_OF_THE_OPERATIONS_DOCUMENT,
    'AgentDown',
    'HoldDeadlineNear',
    'PayoutStuck',
    'OutboxBacklog',
    'RelayRefusalsRising',
    'CustodyTooOld',
  ]) {
    assert.ok(names.includes(name), `escrow.yml has no alert ${name}`);
  }
  assert.equal(new Set(names).size, names.length, 'alert names are unique');
});

test('every alert expression names only metrics the agent exports, with their labels', async () => {
  const exported = await exportedSeries();
  const problems = readAlerts().flatMap((alert) => problemsOf(`alert ${alert.name}`, alert.expr, exported));
  assert.equal(problems, [], problems.join('\n'));
});

test('every alert links a runbook section that exists', () => {
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const missing: string[] = [];
  for (const alert of readAlerts()) {
    const [file, anchor] = alert.runbook.split('#');
    if (!file?.startsWith('docs/') || !anchor) {
      missing.push(`${alert.name}: runbook_url ${alert.runbook} is not docs/<file>.md#<section>`);
      continue;
    }
    let text = '';
    try {
      text = read(join(ROOT, file));
    } catch {
      missing.push(`${alert.name}: ${file} does not exist`);
      continue;
    }
    const anchors = new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1] ?? '')));
    if (!anchors.has(anchor)) missing.push(`${alert.name}: ${file} has no section #${anchor}`);
  }
  assert.equal(missing, [], missing.join('\n'));
});

test('every alert has promtool unit tests that fire it and that keep it silent', () => {
  const text = read(RULE_TESTS);
  // Each `alertname:` entry is followed by its exp_alerts: `[]` (silent) or a list (firing).
  const entries = [...text.matchAll(/alertname:\s*(\w+)\s*\n\s*exp_alerts:\s*(\[\])?/g)].map((match) => ({
    name: match[1] ?? '',
    silent: match[2] === '[]',
  }));
  assert.equal(
    entries.length,
    yamlValues(text, 'alertname').length,
    'every alertname is followed by exp_alerts',
  );
  for (const alert of readAlerts()) {
    assert.ok(
      entries.some((entry) => entry.name === alert.name && !entry.silent),
      `escrow.test.yml never expects ${alert.name} to fire`,
    );
    assert.ok(
      entries.some((entry) => entry.name === alert.name && entry.silent),
      `escrow.test.yml never expects ${alert.name} to stay silent`,
    );
  }
  assert.equal(yamlValues(text, 'rule_files').length, 1);
  assert.match(text, /rule_files:\s*\n\s*- escrow\.yml\n/);
});

promtoolTest('promtool check rules accepts the alert rules', () => {
  const result = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, `SUCCESS: ${readAlerts().length} rules found`);
});

promtoolTest(
  'promtool test rules: each alert fires on its synthetic series and stays silent on a healthy one',
  () => {
    const result = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, 'SUCCESS');
  },
);

promtoolTest('the unit tests fail on a rule whose threshold is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'escrow-alerts-'));
  try {
    copyFileSync(RULE_TESTS, join(dir, 'escrow.test.yml'));
    const rules = read(RULES);
    for (const [alert, from, to] of [
      ['StuckHoldInvoices', 'escrow_stuck_holds_count > 0', 'escrow_stuck_holds_count > 10'],
      // "-1" means no hold: without the guard the alert would fire on an agent holding nothing.
      ['HoldDeadlineNear', 'escrow_blocks_to_nearest_hold_deadline != -1\n          and ', ''],
      ['AgentDown', 'up{job="escrow-agent"} == 0', 'up == 0'],
    ] as const) {
      assert.ok(rules.includes(from), `escrow.yml no longer has ${JSON.stringify(from)}`);
      writeFileSync(join(dir, 'escrow.yml'), rules.replace(from, to));
      const result = spawnSync('promtool', ['test', 'rules', join(dir, 'escrow.test.yml')], {
        encoding: 'utf8',
      });
      assert.equal(result.status, 1, `${alert} changed, yet the unit tests passed`);
      assert.match(result.stdout + result.stderr, `alertname: ${alert}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------------ Prometheus, Grafana

test('Prometheus scrapes the agent under the job the alerts name and loads the rules', () => {
  const text = read(PROMETHEUS_CONFIG);
  assert.ok(
    yamlValues(text, 'job_name').includes('escrow-agent'),
    'a scrape job named escrow-agent (AgentDown)',
  );
  assert.ok(yamlValues(text, 'metrics_path').includes('/metrics'));
  assert.match(text, /rule_files:\s*\n\s*- alerts\/escrow\.yml\n/);
});

promtoolTest('promtool check config accepts prometheus.yml and finds the rules it names', () => {
  const result = spawnSync('promtool', ['check', 'config', PROMETHEUS_CONFIG], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, 'SUCCESS: 1 rule files found');
});

test('the dashboard shows tasks, funding, settlement latency, balances, relays, the outbox and holds near deadline', () => {
  const board = dashboard();
  assert.equal(board.uid, 'escrow-overview');
  const exprs = board.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const metrics = new Set(exprs.flatMap((expr) => selectorsOf(expr).map((selector) => selector.metric)));
  for (const metric of [
    'tasks_by_state',
    'funding_by_status',
    'settlement_duration_seconds_bucket',
    'ldk_local_balance_sats',
    'ldk_remote_balance_sats',
    'escrow_relay_connected',
    'escrow_relay_publish_refusals_total',
    'escrow_outbox_pending',
    'escrow_outbox_oldest_pending_age_seconds',
    'escrow_blocks_to_nearest_hold_deadline',
    'escrow_stuck_holds_count',
  ]) {
    assert.ok(metrics.has(metric), `no panel shows ${metric}`);
  }
});

test('every dashboard expression names only metrics the agent exports, through the provisioned datasource', async () => {
  const exported = await exportedSeries();
  const uid = yamlValues(read(DATASOURCE), 'uid');
  assert.equal(uid, ['prometheus'], 'the provisioned datasource has uid prometheus');
  const problems: string[] = [];
  for (const panel of dashboard().panels) {
    if (panel.type === 'row') continue;
    if (!panel.targets?.length) problems.push(`panel ${panel.title}: no query`);
    for (const target of panel.targets ?? []) {
      problems.push(...problemsOf(`panel ${panel.title}`, target.expr, exported));
      for (const source of [panel.datasource, target.datasource]) {
        if (source?.uid !== 'prometheus')
          problems.push(`panel ${panel.title}: datasource is not uid prometheus`);
      }
    }
  }
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
