// `escrow-agent task …`: a Nostr client for people who post and take tasks, from a terminal or a script, built on
// the protocol module every client imports (src/protocol: buildListing, buildAction, parseTransition). It signs the
// person's listing or action with their key (--key FILE or NOSTR_SECRET_KEY), publishes it to the relays the agent
// reads, waits for the agent's answer to that very event (the transition it caused, or its `rejected` label with
// the code and reason) and prints it, with the next step. `list`, `show` and `watch` only read. docs/client-cli.md
// documents every subcommand.
//
// Exit codes: 0 the agent accepted (the transition it answers with arrived; show: every check holds; watch: the
// task ended); 1 the agent refused (its code and reason are printed), or show found a check that fails; 2 bad input
// (an option, a key, a task reference), or no relay could be reached or took the event (nothing was done);
// 3 no answer within --timeout (the event was published: the agent may still answer).
import { randomBytes } from 'node:crypto';
import { neventEncode } from 'nostr-tools/nip19';
import { type EventTemplate, finalizeEvent } from 'nostr-tools/pure';
import { formatMsat } from '../../domain/money.ts';
import { type TaskState, TERMINAL_STATES } from '../../domain/types.ts';
import { type ActionInput, actionTemplate, buildAction } from '../../protocol/build-action.ts';
import { ANNOUNCEMENT_D, parseAnnouncement } from '../../protocol/build-announcement.ts';
import { buildListing, type ListingInput } from '../../protocol/build-listing.ts';
import { KINDS } from '../../protocol/constants.ts';
import type { ParsedTransition } from '../../protocol/parse-transition.ts';
import { ProtocolInputError } from '../../protocol/protocol-input-error.ts';
import { actionSchemas, type NostrEvent, parseLabelled } from '../../protocol/schemas.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig, Output } from '../output.ts';
import { redactSecrets } from '../redact.ts';
import { fetchAll } from '../relay-fetch.ts';
import { type AgentAnswer, answers, readAgentEvent } from '../task-client/answers.ts';
import {
  amountOption,
  arbitratorsOption,
  choiceOption,
  parseTaskArguments,
  type Subcommand,
  shareOption,
  type TaskArguments,
  wholeNumber,
  windowsOption,
} from '../task-client/arguments.ts';
import { type AgentRef, loadPersonKey, type PersonKey, resolveAgent } from '../task-client/identity.ts';
import { type ClientRelays, resolveRelays } from '../task-client/relays.ts';
import {
  answerJson,
  answerLines,
  toJson,
  transitionJson,
  transitionLines,
  utc,
} from '../task-client/render.ts';
import { ClientSession, type PublishReport } from '../task-client/session.ts';
import { openTasks, readTask, type TaskView, taskIdOf } from '../task-client/task-state.ts';
import { DEFAULT_LIMITS, runVerify, type VerifyReport, verifyText } from './verify.ts';

export const EXIT = { accepted: 0, refused: 1, badInput: 2, noAnswer: 3 } as const;

const COMMON_USAGE =
  "options: --agent NPUB (default: this folder's agent), --relay URL (repeatable; default: the agent's NIP-65 relays), --key FILE or NOSTR_SECRET_KEY (to sign), --timeout SECONDS (default 60), --json";

const SUBCOMMAND_USAGE: Record<Subcommand, string> = {
  post: 'post --amount SATS --title TEXT [--description TEXT] [--summary TEXT] [--window claim|work|review|dispute=SECONDS ...] [--arbitrator NPUB ...] [--threshold K]',
  list: 'list [--limit N]',
  show: 'show TASK',
  watch: 'watch TASK',
  claim: 'claim TASK [--note TEXT]',
  submit: 'submit TASK --note TEXT [--invoice BOLT11]',
  approve: 'approve TASK [--note TEXT]',
  cancel: 'cancel TASK [--note TEXT]',
  dispute: 'dispute TASK --statement TEXT',
  verdict: 'verdict TASK --resolution worker|poster|split [--share BPS|N%] [--note TEXT]',
  'payout-invoice':
    'payout-invoice TASK --recipient worker|poster (--invoice BOLT11 | --lud16 NAME@DOMAIN) [--note TEXT]',
};

export const TASK_USAGE = `usage: escrow-agent task <subcommand> [options]
${Object.values(SUBCOMMAND_USAGE)
  .map((line) => `  ${line}`)
  .join('\n')}
  TASK: the task id (the listing's event id, 64 hex), its note1…/nevent1…, or the listing's naddr1…
  ${COMMON_USAGE}
  exit: 0 the agent accepted, 1 it refused (code and reason printed) or a check failed, 2 bad input or no relay
  took the event, 3 no answer within --timeout (docs/client-cli.md)`;

function usage(subcommand: Subcommand | null): string {
  return subcommand === null
    ? TASK_USAGE
    : `usage: escrow-agent task ${SUBCOMMAND_USAGE[subcommand]}\n  ${COMMON_USAGE}`;
}

/** What the command uses of its surroundings; tests shorten the relay timeouts. */
export interface TaskIo {
  env: NodeJS.ProcessEnv;
  /** How long a relay may take to connect or answer one read. */
  relayTimeoutMs: number;
  now: () => number;
}

export async function taskCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  return runTask(config, output, args, {
    env: process.env,
    relayTimeoutMs: 10_000,
    now: () => Math.floor(Date.now() / 1000),
  });
}

/** Everything a subcommand needs once its options are checked. */
interface Context {
  args: TaskArguments;
  what: string;
  config: AgentConfig;
  output: Output;
  io: TaskIo;
  agent: AgentRef;
  /** The person's key, for the subcommands that sign. */
  key: PersonKey | null;
  /** Resolved lazily: after every option was checked, so bad input never waits on the network. */
  relays: () => Promise<ClientRelays>;
  /** The answer's wait, in ms. */
  waitMs: number;
}

export async function runTask(
  config: AgentConfig,
  output: Output,
  args: string[],
  io: TaskIo,
): Promise<number> {
  const parsed = parseTaskArguments(args, usage);
  if (parsed.subcommand === null) {
    if (parsed.help) {
      output.out(TASK_USAGE);
      return 0;
    }
    output.err(`escrow-agent task: which subcommand?\n${TASK_USAGE}`);
    return EXIT.badInput;
  }
  if (parsed.help) {
    output.out(usage(parsed.subcommand));
    return 0;
  }
  const what = parsed.what;
  // Everything the person gave is checked before anything reaches a relay: the subcommand's own options first,
  // then the agent, then the key.
  const subcommand = parsed.subcommand;
  const listing = subcommand === 'post' ? postOptions(what, parsed.values) : null;
  const action = ['post', 'list', 'show', 'watch'].includes(subcommand)
    ? null
    : actionInput(what, subcommand, parsed.values);
  const agent = resolveAgent(what, config, parsed.agent);
  const key = listing || action ? loadPersonKey(what, parsed.key, io.env, (line) => output.err(line)) : null;
  if (key && key.pubkey === agent.pubkey) {
    throw new CliError(
      `${what}: ${key.source} is the agent's own key: the agent ignores events signed with it; sign with your own key`,
    );
  }
  let relays: ClientRelays | null = null;
  const context: Context = {
    args: parsed,
    what,
    config,
    output,
    io,
    agent,
    key,
    relays: async () => {
      relays ??= await resolveRelays(what, config, parsed.relays, agent, io.relayTimeoutMs);
      // A nevent's or naddr's relay hints are more places to read the task from.
      for (const hint of parsed.ref?.relays ?? []) if (!relays.read.includes(hint)) relays.read.push(hint);
      return relays;
    },
    waitMs: (parsed.timeoutSeconds ?? 60) * 1000,
  };
  if (listing) return post(context, listing);
  if (action) return act(context, action);
  switch (subcommand) {
    case 'list':
      return list(context);
    case 'show':
      return show(context);
    default:
      return watch(context);
  }
}

// ------------------------------------------------------------------------------------------------ post

type ListingOptions = Omit<ListingInput, 'd' | 'agent' | 'createdAt'>;

function postOptions(what: string, values: TaskArguments['values']): ListingOptions {
  const amountMsat = amountOption(what, values.amount as string | undefined);
  const title = values.title as string | undefined;
  if (title === undefined || title.trim() === '')
    throw new CliError(`${what}: give the task's title with --title TEXT\n${usage('post')}`);
  const arbitrators = arbitratorsOption(what, (values.arbitrator as string[] | undefined) ?? []);
  const threshold =
    values.threshold === undefined
      ? undefined
      : wholeNumber(what, '--threshold', values.threshold as string, 1, 20, 'arbitrators');
  return {
    title,
    ...(values.summary !== undefined ? { summary: values.summary as string } : {}),
    amountMsat,
    windows: windowsOption(what, (values.window as string[] | undefined) ?? []),
    ...(arbitrators.length > 0 ? { arbitrators } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    content: (values.description as string | undefined) ?? '',
  };
}

async function post(context: Context, options: ListingOptions): Promise<number> {
  const { what, io } = context;
  let template: ReturnType<typeof buildListing>;
  try {
    template = buildListing({
      ...options,
      d: `escrow-${randomBytes(6).toString('hex')}`,
      agent: context.agent.pubkey,
      createdAt: io.now(),
    });
  } catch (error) {
    if (error instanceof ProtocolInputError) throw new CliError(`${what}: ${error.message}`);
    throw error;
  }
  const listing = finalizeEvent(template, context.key!.secretKey) as NostrEvent;
  const relays = await context.relays();
  const nevent = neventEncode({
    id: listing.id,
    kind: KINDS.listing,
    author: listing.pubkey,
    relays: relays.publish.slice(0, 3),
  });
  const result = await publishAndWait(context, relays, listing);
  const answer = result.answer;
  const offered =
    answer?.type === 'transition' && answer.transition.state === 'offered' ? answer.transition : null;
  const next = answer?.type === 'transition' ? nextStep(answer.transition, listing.id, null) : null;
  report(context, {
    taskId: listing.id,
    extra: { nevent, title: options.title },
    event: listing,
    relays,
    result,
    next,
    lines: [
      `task      ${listing.id}`,
      `          ${nevent}`,
      ...(offered ? [] : [`title     ${options.title}`, `amount    ${formatMsat(options.amountMsat)}`]),
    ],
  });
  return exitOf(result);
}

// ------------------------------------------------------------------------------------------------ actions

async function act(context: Context, input: ActionFields): Promise<number> {
  const { what, args, io } = context;
  const build = (taskId: string): EventTemplate => {
    const common = { taskId, agent: context.agent.pubkey, createdAt: io.now() };
    try {
      if (input.action === 'payout_invoice' && typeof input.lud16 === 'string') {
        // buildAction makes invoices only; a Lightning address is the same action with a `lud16` tag (§5.1),
        // checked against the schema the agent parses with.
        const template = actionTemplate({
          name: 'payout_invoice',
          ...common,
          extraTags: [
            ['lud16', input.lud16],
            ['recipient', String(input.recipient)],
          ],
          content: typeof input.note === 'string' ? input.note : '',
        });
        const checked = parseLabelled(actionSchemas.payout_invoice, template);
        if (!checked.ok) throw new ProtocolInputError(`payout_invoice: ${checked.text}`);
        return template;
      }
      return buildAction({ ...input, ...common } as ActionInput);
    } catch (error) {
      if (error instanceof ProtocolInputError) throw new CliError(`${what}: ${error.message}`);
      throw error;
    }
  };
  build('0'.repeat(64));
  const relays = await context.relays();
  const taskId = await taskIdOf(what, args.ref!, relays.read, context.agent.pubkey, io.relayTimeoutMs);
  const view = await readTask(taskId, relays.read, context.agent.pubkey, io.relayTimeoutMs);
  const event = finalizeEvent(build(taskId), context.key!.secretKey) as NostrEvent;
  const result = await publishAndWait(context, relays, event);
  const answer = result.answer;
  const workerGets = view.offered ? view.offered.details.amountMsat - view.offered.details.feeMsat : null;
  const next = answer?.type === 'transition' ? nextStep(answer.transition, taskId, workerGets) : null;
  const title = view.offered?.details.listing.tags.find((tag) => tag[0] === 'title')?.[1];
  report(context, {
    taskId,
    extra: { stateBefore: view.latest?.state ?? null },
    event,
    relays,
    result,
    next,
    lines: [
      `task      ${taskId}`,
      `          ${title ? `"${title}", ` : ''}${view.latest ? `was ${view.latest.state}` : view.read ? 'no transition of this agent on it yet' : 'its state could not be read'}`,
    ],
    silentNote: silentAcceptance(args.subcommand),
  });
  return exitOf(result);
}

type ActionFields = { action: ActionInput['action'] } & Record<string, unknown>;

/** The action's own fields from the options, checked (the schema check follows in act, with the task). */
function actionInput(what: string, subcommand: Subcommand, values: TaskArguments['values']): ActionFields {
  const note = values.note as string | undefined;
  const withNote = note === undefined ? {} : { note };
  switch (subcommand) {
    case 'claim':
    case 'approve':
    case 'cancel':
      return { action: subcommand, ...withNote };
    case 'submit': {
      if (note === undefined || note.trim() === '') {
        throw new CliError(
          `${what}: give the delivery with --note TEXT (what you did, or a link to it): the poster reviews it, and the protocol requires it\n${usage('submit')}`,
        );
      }
      const invoice = values.invoice as string | undefined;
      return { action: 'submit', delivery: note, ...(invoice !== undefined ? { bolt11: invoice } : {}) };
    }
    case 'dispute': {
      const statement = values.statement as string | undefined;
      if (statement === undefined || statement.trim() === '')
        throw new CliError(
          `${what}: give your statement for the arbitrators with --statement TEXT\n${usage('dispute')}`,
        );
      return { action: 'dispute', reason: statement };
    }
    case 'verdict': {
      const outcome = choiceOption(what, '--resolution', values.resolution as string | undefined, [
        'worker',
        'poster',
        'split',
      ]);
      const share = values.share as string | undefined;
      if (outcome === 'split') {
        if (share === undefined)
          throw new CliError(
            `${what}: a split needs --share: the worker's share of amount - fee (6000 or 60%)`,
          );
        return { action: 'verdict', outcome, workerShareBps: shareOption(what, share), ...withNote };
      }
      if (share !== undefined)
        throw new CliError(`${what}: --share goes with --resolution split only: leave it out for ${outcome}`);
      return { action: 'verdict', outcome, ...withNote };
    }
    case 'payout-invoice': {
      const recipient = choiceOption(what, '--recipient', values.recipient as string | undefined, [
        'worker',
        'poster',
      ]);
      const invoice = values.invoice as string | undefined;
      const lud16 = values.lud16 as string | undefined;
      if ((invoice === undefined) === (lud16 === undefined)) {
        throw new CliError(
          `${what}: give exactly one of --invoice BOLT11 (for exactly what the ${recipient} is owed) and --lud16 NAME@DOMAIN (a Lightning address the agent fetches an invoice from)`,
        );
      }
      if (lud16 !== undefined) return { action: 'payout_invoice', recipient, lud16, ...withNote };
      return { action: 'payout_invoice', recipient, bolt11: invoice, ...withNote };
    }
    default:
      throw new CliError(`${what}: not an action`);
  }
}

/** Actions the agent may take without publishing anything: no transition would come. */
function silentAcceptance(subcommand: Subcommand): string | undefined {
  switch (subcommand) {
    case 'verdict':
      return 'a verdict short of the threshold is recorded and answered with nothing until enough arbitrators agree';
    case 'dispute':
      return "the other party's statement on an open dispute is recorded and answered with nothing (the arbitrators get it privately)";
    case 'payout-invoice':
      return "an invoice for one share while the other share's invoice still waits is recorded and answered with nothing";
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ publishing

interface PublishResult {
  published: PublishReport;
  /** The agent's answer to the event; null when none came within the wait. */
  answer: AgentAnswer | null;
}

/**
 * Connects, listens for the agent's events that name `event` (before publishing it), publishes it to the relays
 * the agent reads and waits for the answer. CliError (exit 2) when no relay could be reached or none took it.
 */
async function publishAndWait(
  context: Context,
  relays: ClientRelays,
  event: NostrEvent,
): Promise<PublishResult> {
  const session = new ClientSession(relays, { timeoutMs: context.io.relayTimeoutMs });
  try {
    const connected = await session.connected();
    if (!connected.some((url) => relays.publish.includes(url))) {
      throw new CliError(
        `${context.what}: no relay could be reached, nothing was published: ${describeFailures(session.failures())}; give a relay that is up with --relay URL`,
      );
    }
    let answered: (answer: AgentAnswer) => void = () => {};
    const answer = new Promise<AgentAnswer>((resolve) => {
      answered = resolve;
    });
    const close = await session.listen(
      { kinds: [KINDS.label], authors: [context.agent.pubkey], '#e': [event.id] },
      (candidate) => {
        const read = readAgentEvent(candidate, context.agent.pubkey);
        if (read && answers(read, event)) answered(read);
      },
    );
    try {
      const published = await session.publish(event);
      if (published.accepted.length === 0) {
        throw new CliError(
          `${context.what}: no relay took the event, nothing was done: ${describeFailures(published.refused)}`,
        );
      }
      return { published, answer: await within(answer, context.waitMs) };
    } finally {
      close();
    }
  } finally {
    await session.close();
  }
}

function describeFailures(failures: ReadonlyArray<{ relay: string; message: string }>): string {
  return failures.map((failure) => `${failure.relay} (${failure.message})`).join(', ');
}

/** The promise's value, or null once `ms` passed (the timer does not keep the process alive after). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function exitOf(result: PublishResult): number {
  if (result.answer === null) return EXIT.noAnswer;
  return result.answer.type === 'rejected' ? EXIT.refused : EXIT.accepted;
}

interface Report {
  taskId: string;
  extra: Record<string, unknown>;
  event: NostrEvent;
  relays: ClientRelays;
  result: PublishResult;
  next: string | null;
  /** Text lines about the task, after the published line. */
  lines: string[];
  /** Why no answer may be normal for this action. */
  silentNote?: string;
}

function report(context: Context, report: Report): void {
  const { output, args } = context;
  const { result, event } = report;
  const answer = result.answer;
  const outcome = answer === null ? 'no_answer' : answer.type === 'rejected' ? 'refused' : 'accepted';
  const { published } = result;
  const total = published.accepted.length + published.refused.length;
  if (args.json) {
    output.out(
      toJson(
        {
          command: args.subcommand,
          outcome,
          agent: context.agent.pubkey,
          signer: event.pubkey,
          taskId: report.taskId,
          ...report.extra,
          event: { id: event.id, kind: event.kind, createdAt: event.created_at },
          published,
          answer: answer === null ? null : answerJson(answer),
          next: report.next === null ? null : oneLine(report.next),
        },
        2,
      ),
    );
    return;
  }
  const label =
    event.kind === KINDS.listing ? 'listing' : (event.tags.find((tag) => tag[0] === 'l')?.[1] ?? '?');
  const lines = [
    `agent     ${context.agent.npub}, ${context.agent.source}`,
    `relays    ${relaysLine(report.relays)}`,
    ...report.relays.notes.map((note) => `note: ${note}`),
    `signed    ${label} ${event.id} as ${context.key?.npub ?? '?'} (${context.key?.source ?? ''})`,
    `sent to   ${published.accepted.length} of ${total} relay(s): ${published.accepted.join(', ')}`,
    ...published.refused.map((refusal) => `          not taken by ${refusal.relay}: ${refusal.message}`),
    ...report.lines,
    '',
  ];
  if (answer === null) {
    lines.push(
      `NO ANSWER from the agent within ${context.waitMs / 1000} s. The event was published to ${published.accepted.length} relay(s); the agent may still answer (it may be down, or catching up): run \`escrow-agent task show ${report.taskId}\` later.`,
    );
    if (report.silentNote) lines.push(`(No answer can also be right here: ${report.silentNote}.)`);
  } else if (answer.type === 'rejected') {
    lines.push(`REFUSED by the agent: ${answer.code}: ${answer.reason}`, ...answerLines(answer));
  } else {
    lines.push(`ACCEPTED: the task is ${answer.transition.state}`, ...answerLines(answer));
  }
  if (report.next) lines.push('', `next: ${report.next}`);
  for (const line of lines) output.out(redactSecrets(line));
}

function oneLine(text: string): string {
  return text.replace(/\n\s+/g, ' ');
}

/** Where events went and answers are read, and how those relays were found. */
function relaysLine(relays: ClientRelays): string {
  const same =
    relays.publish.length === relays.read.length && relays.publish.every((url) => relays.read.includes(url));
  return same
    ? `${relays.publish.join(', ')}, ${relays.source}`
    : `publish to ${relays.publish.join(', ')}; answers read from ${relays.read.join(', ')}; ${relays.source}`;
}

/** What happens next for a task in the state of `transition`, and the command for it. */
function nextStep(transition: ParsedTransition, taskId: string, workerGets: bigint | null): string {
  const watch = `escrow-agent task watch ${taskId}`;
  switch (transition.state) {
    case 'offered':
      return `pay the hold invoice (${formatMsat(transition.details.amountMsat)}) from a Lightning wallet; on the sandbox: escrow-agent ln pay ${transition.details.bolt11}\n      then follow the task: ${watch}`;
    case 'funded':
      return `the money is held; a worker may claim the task: escrow-agent task claim ${taskId}`;
    case 'claimed': {
      const amount = workerGets === null ? 'amount - fee' : formatMsat(workerGets);
      const sandbox =
        workerGets !== null && workerGets % 1000n === 0n
          ? ` (on the sandbox: escrow-agent ln invoice ${workerGets / 1000n})`
          : '';
      return `do the work before ${utc(transition.details.windowEndsAt)}, then submit it with an invoice for exactly ${amount}${sandbox}:\n      escrow-agent task submit ${taskId} --note TEXT --invoice BOLT11`;
    }
    case 'submitted':
      return `the poster reviews the work: escrow-agent task approve ${taskId} (silence approves at ${utc(transition.details.windowEndsAt)})`;
    case 'disputed':
      return `the arbitrators decide: escrow-agent task verdict ${taskId} --resolution worker|poster|split; follow it: ${watch}`;
    case 'settling':
    case 'settled':
    case 'custody':
      return `the agent settles the hold and pays out: ${watch}`;
    case 'payout_pending':
      return `the agent needs an invoice from the ${transition.details.recipients.join(' and the ')}: escrow-agent task payout-invoice ${taskId} --recipient ${transition.details.recipient} --invoice BOLT11`;
    case 'refunding':
      return `the agent cancels the hold, which gives the poster's payment back: ${watch}`;
    default:
      return `the task is over (${transition.state}); anyone can check it from the relays: escrow-agent task show ${taskId}`;
  }
}

// ------------------------------------------------------------------------------------------------ list

async function list(context: Context): Promise<number> {
  const { what, args, io, output, agent } = context;
  const limit =
    args.values.limit === undefined
      ? 50
      : wholeNumber(what, '--limit', args.values.limit as string, 1, 1000, 'tasks');
  const relays = await context.relays();
  const now = io.now();
  // The policy bounds how far back an open task can start: an offer lives until its invoice expires, a funded task
  // at most max_hold_seconds after that. Without the announcement, a week.
  const announced = await fetchAll(
    relays.read,
    [{ kinds: [KINDS.handler], authors: [agent.pubkey], '#d': [ANNOUNCEMENT_D] }],
    { timeoutMs: io.relayTimeoutMs, pageSize: 50, maxEvents: 200 },
  );
  if (![...announced.perRelay.values()].some((state) => state.failed === undefined)) {
    throw new CliError(
      `${what}: no relay answered: ${[...announced.perRelay.entries()].map(([url, state]) => `${url} (${state.failed})`).join(', ')}; give a relay that is up with --relay URL`,
    );
  }
  const notes = [...relays.notes];
  const announcement = newestOf(announced.events, agent.pubkey, KINDS.handler);
  const parsed = announcement ? parseAnnouncement(announcement) : null;
  const policy = parsed?.ok ? parsed.announcement.policy : null;
  if (!policy) notes.push("no relay holds the agent's announcement (kind 31990): looking back one week");
  const lookBack = policy ? policy.invoiceExpirySeconds + policy.maxHoldSeconds + 3600 : 7 * 86_400;
  const since = now - lookBack;
  const open = await openTasks(relays.read, agent.pubkey, since, io.relayTimeoutMs, 20_000);
  for (const failure of open.failed)
    notes.push(`${failure.relay} could not be read in full: ${failure.reason}`);
  if (open.truncated)
    notes.push('the read stopped at its bound: the agent may have more open tasks than shown');
  const live = open.tasks.filter(
    (task) => !(task.state === 'offered' && task.offered && task.offered.details.expiresAt < now),
  );
  const expiredOffers = open.tasks.length - live.length;
  if (expiredOffers > 0)
    notes.push(
      `${expiredOffers} offer(s) whose invoice expired unpaid are left out (the agent ends them next)`,
    );
  const shown = live.slice(0, limit);
  if (live.length > shown.length)
    notes.push(`${live.length - shown.length} more open task(s) not shown: raise --limit`);
  const counts = {
    offered: live.filter((task) => task.state === 'offered').length,
    funded: live.filter((task) => task.state === 'funded').length,
  };
  const rows = shown.map((task) => {
    const offer = task.offered?.details;
    return {
      taskId: task.taskId,
      state: task.state,
      title: offer?.listing.tags.find((tag) => tag[0] === 'title')?.[1] ?? null,
      amountMsat: offer?.amountMsat ?? null,
      feeMsat: offer?.feeMsat ?? null,
      workerGetsMsat: offer ? offer.amountMsat - offer.feeMsat : null,
      poster: task.latest.poster,
      since: task.latest.createdAt,
      until: task.latest.state === 'funded' ? task.latest.details.windowEndsAt : (offer?.expiresAt ?? null),
      arbitrators: offer?.arbitration.arbitrators.length ?? null,
    };
  });
  if (args.json) {
    output.out(
      toJson(
        { command: 'list', agent: agent.pubkey, relays: relays.read, since, counts, tasks: rows, notes },
        2,
      ),
    );
    return 0;
  }
  const lines = [
    `agent   ${agent.npub}, ${agent.source}`,
    `relays  ${relays.read.join(', ')}, ${relays.source}`,
    ...notes.map((note) => `note: ${note}`),
    '',
    `open tasks since ${utc(since)}: ${counts.funded} funded (paid in: a worker may claim it), ${counts.offered} offered (waiting for the poster's payment)`,
  ];
  if (rows.length > 0) {
    lines.push(
      `${'state'.padEnd(8)}  ${'amount'.padEnd(14)}  ${'worker gets'.padEnd(14)}  ${'until'.padEnd(36)}  task`,
    );
    for (const row of rows) {
      const until =
        row.until === null ? '' : `${row.state === 'funded' ? 'claim until' : 'pay until'} ${utc(row.until)}`;
      lines.push(
        `${row.state.padEnd(8)}  ${(row.amountMsat === null ? '?' : formatMsat(row.amountMsat)).padEnd(14)}  ${(row.workerGetsMsat === null ? '?' : formatMsat(row.workerGetsMsat)).padEnd(14)}  ${until.padEnd(36)}  ${row.taskId}  ${row.title === null ? '' : JSON.stringify(row.title)}`,
      );
    }
    lines.push('', 'claim one: escrow-agent task claim TASK --key FILE');
  }
  for (const line of lines) output.out(redactSecrets(line));
  return 0;
}

function newestOf(events: readonly NostrEvent[], pubkey: string, kind: number): NostrEvent | null {
  let best: NostrEvent | null = null;
  for (const event of events) {
    if (event.pubkey !== pubkey || event.kind !== kind) continue;
    if (
      !best ||
      event.created_at > best.created_at ||
      (event.created_at === best.created_at && event.id < best.id)
    )
      best = event;
  }
  return best;
}

// ------------------------------------------------------------------------------------------------ show

/** The task's timeline and checks are `escrow-agent verify`'s (runVerify); this adds its state now and what next. */
async function show(context: Context): Promise<number> {
  const { what, args, io, output, agent, config } = context;
  const relays = await context.relays();
  const taskId = await taskIdOf(what, args.ref!, relays.read, agent.pubkey, io.relayTimeoutMs);
  const view = await readTask(taskId, relays.read, agent.pubkey, io.relayTimeoutMs);
  const captured: string[] = [];
  const asked = [...new Set([...relays.read, ...relays.publish])];
  const code = await runVerify(
    config,
    { out: (line) => captured.push(line), err: (line) => output.err(line) },
    [taskId, '--agent', agent.pubkey, ...asked.flatMap((url) => ['--relay', url]), '--json'],
    { progress: null, limits: { ...DEFAULT_LIMITS, timeoutMs: io.relayTimeoutMs } },
  );
  const verification = JSON.parse(captured.join('\n')) as VerifyReport;
  // verify was handed the agent and the relays: say how this command found them.
  verification.agent.source = agent.source;
  for (const relay of verification.relays) {
    if (relay.source === 'given with --relay') relay.source = relays.source;
  }
  const over = view.latest !== null && TERMINAL_STATES.has(view.latest.state);
  const next = view.latest && !over ? nextStep(view.latest, taskId, workerGetsOf(view)) : null;
  if (args.json) {
    output.out(
      toJson(
        {
          command: 'show',
          taskId,
          state: view.latest?.state ?? null,
          latest: view.latest ? transitionJson(view.latest) : null,
          next: next === null ? null : oneLine(next),
          verification,
        },
        2,
      ),
    );
    return code;
  }
  const lines = verifyText(verification, false);
  if (view.latest) lines.push('', 'now:', ...transitionLines(view.latest).map((line) => `  ${line}`));
  if (next) lines.push('', `next: ${next}`);
  for (const line of lines) output.out(redactSecrets(line));
  return code;
}

function workerGetsOf(view: TaskView): bigint | null {
  return view.offered ? view.offered.details.amountMsat - view.offered.details.feeMsat : null;
}

// ------------------------------------------------------------------------------------------------ watch

/** Prints the task's transitions so far, then each new one as it arrives, until the task ends. */
async function watch(context: Context): Promise<number> {
  const { what, args, io, output, agent } = context;
  const relays = await context.relays();
  const taskId = await taskIdOf(what, args.ref!, relays.read, agent.pubkey, io.relayTimeoutMs);
  const session = new ClientSession(
    { ...relays, publish: [], read: relays.read },
    { timeoutMs: io.relayTimeoutMs },
  );
  try {
    const connected = await session.connected();
    if (connected.length === 0) {
      throw new CliError(
        `${what}: no relay could be reached: ${describeFailures(session.failures())}; give a relay that is up with --relay URL`,
      );
    }
    if (!args.json) {
      output.out(`watching task ${taskId}`);
      output.out(`agent ${agent.npub}, ${agent.source}`);
      output.out(`relays ${connected.join(', ')}, ${relays.source}; Ctrl-C stops`);
    }
    let ended: (state: TaskState) => void = () => {};
    const end = new Promise<TaskState>((resolve) => {
      ended = resolve;
    });
    const emit = (answer: AgentAnswer) => {
      if (args.json) output.out(toJson(answerJson(answer)));
      else for (const line of answerLines(answer)) output.out(redactSecrets(line));
      if (answer.type === 'transition' && TERMINAL_STATES.has(answer.transition.state))
        ended(answer.transition.state);
    };
    const early: AgentAnswer[] = [];
    let caughtUp = false;
    const close = await session.listen(
      { kinds: [KINDS.label], authors: [agent.pubkey], '#e': [taskId] },
      (event) => {
        const answer = readAgentEvent(event, agent.pubkey);
        if (!answer) return;
        if (answer.type === 'transition' && answer.transition.taskId !== taskId) return;
        if (caughtUp) emit(answer);
        else early.push(answer);
      },
    );
    caughtUp = true;
    early.sort(inOrder);
    for (const answer of early) emit(answer);
    if (early.length === 0 && !args.json) output.out('no transition of this agent on this task yet: waiting');
    const state = await (args.timeoutSeconds === null ? end : within(end, context.waitMs));
    close();
    if (state === null) {
      if (!args.json)
        output.out(
          `the task has not ended within ${args.timeoutSeconds} s; run \`escrow-agent task watch ${taskId}\` again`,
        );
      return EXIT.noAnswer;
    }
    if (!args.json) output.out(`the task is over: ${state}`);
    return EXIT.accepted;
  } finally {
    await session.close();
  }
}

/** By created_at; a task's transitions of the same second in chain order. */
function inOrder(a: AgentAnswer, b: AgentAnswer): number {
  if (a.event.created_at !== b.event.created_at) return a.event.created_at - b.event.created_at;
  if (a.type === 'transition' && b.type === 'transition') {
    if (b.transition.prev === a.event.id) return -1;
    if (a.transition.prev === b.event.id) return 1;
  }
  return a.event.id < b.event.id ? -1 : 1;
}
