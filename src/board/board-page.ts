// The task board page (dist/board.html, built by scripts/build-board-page.mjs): pick an agent and relays, choose
// how to sign, read the agent's policy, post a task, pay its hold invoice (QR code, copy, WebLN, or a pasted NIP-47
// wallet connection), claim, submit with a payout invoice (or the wallet connection's make_invoice for exactly
// amount − fee), approve, cancel, dispute, give a verdict; every task's timeline live, verified in the browser.
// One self-contained file: it works opened from disk and from the agent's HTTP server (/board.html), and talks to
// nothing but relays (its Content-Security-Policy allows only ws:/wss: connections).
//
// board.html#agent=<npub>&relays=ws://a,wss://b fills the agent and relays and connects (reading only).

import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { npubEncode } from 'nostr-tools/nip19';
import { parseAnnouncement } from '../protocol/build-announcement.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import { verifyTask } from '../protocol/verify-task.ts';
import { formatMsat } from '../web/format.ts';
import { readAgent, readRelays } from '../web/page-input.ts';
import type { RelayStatus } from '../web/relay-fetch.ts';
import { element, renderOutcome } from '../web/render.ts';
import { type BoardElement, board, storage } from './browser.ts';
import { invoiceQrText, renderQr } from './qr.ts';
import { BoardRelays } from './relays.ts';
import { type BoardMessage, BoardSession } from './session.ts';
import {
  type BoardSigner,
  bunkerSigner,
  extensionSigner,
  type ThrowawaySigner,
  throwawaySigner,
} from './signer.ts';
import {
  feeLine,
  nextStep,
  renderPolicy,
  renderRefusals,
  renderRelayStatus,
  renderTaskFacts,
  renderTaskList,
  roleOf,
  shortNpub,
} from './views.ts';
import { readWalletUri, WalletConnection } from './wallet-connection.ts';

const REMEMBERED_WALLET = 'escrow-board.wallet-connection';
const MAX_MESSAGES = 12;
/** How long a pay_invoice may take before the page stops waiting (a hold stays in flight until settled). */
const PAY_WAIT_MS = 90_000;
const WALLET_CALL_MS = 30_000;
const PAYOUT_INVOICE_EXPIRY_SECONDS = 3_600;

function byId(id: string): BoardElement {
  const found = board().document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

function start(): void {
  const { document } = board();
  const openSocket = (url: string) => new (board().WebSocket)(url);
  const ui = {
    connectForm: byId('connect-form'),
    agent: byId('agent'),
    relays: byId('relays'),
    findAgents: byId('find-agents'),
    connectError: byId('connect-error'),
    agentList: byId('agent-list'),
    relayStatus: byId('relay-status'),
    useExtension: byId('use-extension'),
    extensionMissing: byId('extension-missing'),
    bunkerUrl: byId('bunker-url'),
    useBunker: byId('use-bunker'),
    useThrowaway: byId('use-throwaway'),
    whoami: byId('whoami'),
    throwawayWarning: byId('throwaway-warning'),
    showNsec: byId('show-nsec'),
    nsec: byId('nsec'),
    nwcUri: byId('nwc-uri'),
    nwcRemember: byId('nwc-remember'),
    nwcConnect: byId('nwc-connect'),
    nwcStatus: byId('nwc-status'),
    policySection: byId('policy-section'),
    policy: byId('policy'),
    messages: byId('messages'),
    postForm: byId('post-form'),
    postTitle: byId('post-title'),
    postAmount: byId('post-amount'),
    postDescription: byId('post-description'),
    postFee: byId('post-fee'),
    postButton: byId('post'),
    myTasks: byId('my-tasks'),
    openTasks: byId('open-tasks'),
    task: byId('task'),
    taskTitle: byId('task-title'),
    taskState: byId('task-state'),
    taskFacts: byId('task-facts'),
    taskDescription: byId('task-description'),
    taskNext: byId('task-next'),
    payBox: byId('pay-box'),
    payQr: byId('pay-qr'),
    payBolt11: byId('pay-bolt11'),
    payCopy: byId('pay-copy'),
    payWebln: byId('pay-webln'),
    payNwc: byId('pay-nwc'),
    claimBox: byId('claim-box'),
    claim: byId('claim'),
    submitBox: byId('submit-box'),
    submitDelivery: byId('submit-delivery'),
    submitInvoice: byId('submit-invoice'),
    makeInvoice: byId('make-invoice'),
    submit: byId('submit'),
    approveBox: byId('approve-box'),
    approve: byId('approve'),
    payoutBox: byId('payout-box'),
    payoutInvoice: byId('payout-invoice'),
    payoutMakeInvoice: byId('payout-make-invoice'),
    payoutSend: byId('payout-send'),
    disputeBox: byId('dispute-box'),
    disputeReason: byId('dispute-reason'),
    dispute: byId('dispute'),
    verdictBox: byId('verdict-box'),
    verdictOutcome: byId('verdict-outcome'),
    verdictShare: byId('verdict-share'),
    verdictNote: byId('verdict-note'),
    verdict: byId('verdict'),
    cancelBox: byId('cancel-box'),
    cancel: byId('cancel'),
    taskRefusals: byId('task-refusals'),
    verification: {
      verdict: byId('task-verdict'),
      checks: byId('task-checks'),
      timeline: byId('task-timeline'),
      ignored: byId('task-ignored'),
    },
  };

  let session: BoardSession | null = null;
  let signer: BoardSigner | null = null;
  let wallet: WalletConnection | null = null;
  let selected: string | null = null;
  let shownInvoice: string | null = null;
  const messages: BoardMessage[] = [];

  // ------------------------------------------------------------------------------------------ messages

  function say(message: BoardMessage): void {
    messages.unshift(message);
    messages.splice(MAX_MESSAGES);
    ui.messages.replaceChildren(
      ...messages.map((one) =>
        element(document, 'li', {
          className: one.kind,
          text: one.text,
          attributes: {
            'data-kind': one.kind,
            ...(one.code ? { 'data-code': one.code } : {}),
            ...(one.taskId ? { 'data-task-id': one.taskId } : {}),
          },
        }),
      ),
    );
  }
  const fail = (text: string, taskId: string | null = selected) => say({ kind: 'error', text, taskId });
  const info = (text: string, taskId: string | null = selected) => say({ kind: 'info', text, taskId });
  const problem = (error: unknown) => (error instanceof Error ? error.message : String(error));

  // ------------------------------------------------------------------------------------------ drawing

  let drawTimer: ReturnType<typeof setTimeout> | null = null;
  function redraw(): void {
    if (drawTimer !== null) return;
    drawTimer = setTimeout(() => {
      drawTimer = null;
      draw();
    }, 60);
  }

  function draw(): void {
    const me = signer?.pubkey ?? null;
    if (session?.announcement) {
      ui.policySection.hidden = false;
      renderPolicy(document, ui.policy, session.announcement.value);
    }
    updateFee();
    const all = session?.book.all() ?? [];
    renderTaskList(
      document,
      ui.myTasks,
      all.filter((view) => roleOf(view, me) !== null && view.title !== ''),
      me,
      me === null ? 'Choose how to sign to see your tasks.' : 'None yet: post one, or claim an open one.',
      select,
    );
    renderTaskList(
      document,
      ui.openTasks,
      all.filter((view) => view.state === 'funded'),
      me,
      session === null ? 'Connect to an agent first.' : 'No funded task is waiting for a worker.',
      select,
    );
    drawSelected(me);
  }

  function drawSelected(me: string | null): void {
    const view = selected === null || session === null ? null : session.book.view(selected);
    if (view === null || session === null) {
      ui.task.hidden = true;
      return;
    }
    ui.task.hidden = false;
    ui.task.setAttribute('data-task-id', view.taskId);
    ui.taskTitle.textContent = view.title;
    ui.taskState.textContent = view.state;
    ui.taskState.setAttribute('data-state', view.state);
    renderTaskFacts(document, ui.taskFacts, view);
    ui.taskDescription.textContent = view.description;
    const role = roleOf(view, me);
    ui.taskNext.textContent = nextStep(view, role, me !== null);

    const signedIn = me !== null;
    const bolt11 = view.offer?.details.bolt11 ?? null;
    ui.payBox.hidden = !(view.state === 'offered' && bolt11 !== null && (role === 'poster' || !signedIn));
    if (!ui.payBox.hidden && bolt11 !== null && bolt11 !== shownInvoice) {
      shownInvoice = bolt11;
      ui.payBolt11.value = bolt11;
      ui.payQr.replaceChildren(renderQr(document, invoiceQrText(bolt11), 'the hold invoice as a QR code'));
    }
    ui.payWebln.hidden = board().webln === undefined;
    ui.claimBox.hidden = !(signedIn && view.state === 'funded');
    ui.submitBox.hidden = !(view.state === 'claimed' && role === 'worker');
    ui.approveBox.hidden = !(view.state === 'submitted' && role === 'poster');
    ui.payoutBox.hidden = !(view.state === 'payout_pending' && (role === 'worker' || role === 'poster'));
    ui.disputeBox.hidden = !(
      (role === 'poster' || role === 'worker') &&
      view.arbitrators.length > 0 &&
      ['claimed', 'submitted', 'disputed'].includes(view.state)
    );
    ui.verdictBox.hidden = !(role === 'arbitrator' && ['disputed', 'custody'].includes(view.state));
    ui.cancelBox.hidden = !(role === 'poster' && ['posted', 'offered', 'funded'].includes(view.state));
    renderRefusals(document, ui.taskRefusals, session.book.refusalsOfTask(view.taskId));
    drawVerification(view.taskId);
  }

  function drawVerification(taskId: string): void {
    if (session === null) return;
    const events = session.book.events(taskId);
    const began = board().performance.now();
    const announcement = session.announcement?.event ?? null;
    const verification = verifyTask({ agentPubkey: session.agent, taskId, events, announcement });
    const byEventId = new Map<string, NostrEvent>(events.map((event) => [event.id, event]));
    const relays: RelayStatus[] = session.statuses().map((status) => ({
      url: status.url,
      state: status.state === 'open' ? 'open' : 'failed',
      events: status.events,
      bytes: 0,
      dropped: status.dropped,
      notes: status.notes,
    }));
    renderOutcome(document, ui.verification, {
      verification,
      events: byEventId,
      relays,
      elapsedMs: board().performance.now() - began,
      notes: [],
    });
  }

  function select(taskId: string): void {
    if (selected !== taskId) {
      selected = taskId;
      shownInvoice = null;
      for (const input of [
        ui.submitDelivery,
        ui.submitInvoice,
        ui.payoutInvoice,
        ui.disputeReason,
        ui.verdictShare,
        ui.verdictNote,
      ]) {
        input.value = '';
      }
    }
    session?.watch(taskId);
    draw();
    ui.task.focus();
    ui.task.scrollIntoView();
  }

  function updateFee(): void {
    const sats = ui.postAmount.value.trim();
    if (!/^[0-9]{1,13}$/.test(sats)) {
      ui.postFee.textContent = 'The amount in sats (whole sats), e.g. 2100.';
      return;
    }
    ui.postFee.textContent = feeLine(BigInt(sats) * 1000n, session?.announcement?.value ?? null);
  }

  // ------------------------------------------------------------------------------------------ the agent

  function connect(agentText: string, relaysText: string): void {
    const agent = readAgent(agentText);
    const relays = agent.ok ? readRelays(relaysText) : null;
    if (!agent.ok || relays === null || !relays.ok) {
      ui.connectError.textContent = `Check ${!agent.ok ? agent.error : relays && !relays.ok ? relays.error : ''}.`;
      ui.connectError.hidden = false;
      return;
    }
    ui.connectError.hidden = true;
    session?.close();
    selected = null;
    ui.policySection.hidden = true;
    session = new BoardSession(agent.value, relays.value, openSocket, {
      changed: redraw,
      message: say,
      relays: (statuses) => renderRelayStatus(document, ui.relayStatus, statuses),
    });
    session.start();
    session.setSigner(signer);
    renderRelayStatus(document, ui.relayStatus, session.statuses());
    info(`Connected to the agent ${shortNpub(agent.value)} on ${relays.value.length} relay(s).`, null);
    draw();
  }

  ui.connectForm.addEventListener('submit', (event) => {
    event.preventDefault();
    connect(ui.agent.value, ui.relays.value);
  });

  ui.findAgents.addEventListener('click', () => {
    const relays = readRelays(ui.relays.value);
    if (!relays.ok) {
      ui.connectError.textContent = `Check ${relays.error}.`;
      ui.connectError.hidden = false;
      return;
    }
    ui.connectError.hidden = true;
    ui.findAgents.disabled = true;
    const finder = new BoardRelays(relays.value, openSocket);
    void finder
      .request([{ kinds: [31990], '#d': ['nostr-escrow'], '#k': ['30402'], limit: 50 }], 6_000)
      .then((events) => {
        const newest = new Map<string, NostrEvent>();
        for (const event of events) {
          const known = newest.get(event.pubkey);
          if (!known || known.created_at < event.created_at) newest.set(event.pubkey, event);
        }
        const found = [...newest.values()].flatMap((event) => {
          const parsed = parseAnnouncement(event);
          return parsed.ok ? [{ pubkey: event.pubkey, announcement: parsed.announcement }] : [];
        });
        if (found.length === 0) {
          ui.agentList.replaceChildren(
            element(document, 'li', {
              className: 'empty',
              text: 'No escrow agent announces itself on these relays.',
            }),
          );
          return;
        }
        ui.agentList.replaceChildren(
          ...found.map(({ pubkey, announcement }) => {
            const use = element(document, 'button', {
              className: 'secondary',
              text: 'Use this agent',
              attributes: { type: 'button', 'data-pubkey': pubkey },
            });
            use.addEventListener('click', () => {
              ui.agent.value = npubEncode(pubkey);
              connect(ui.agent.value, ui.relays.value);
            });
            const fee = announcement.policy.fee;
            return element(
              document,
              'li',
              { className: 'row' },
              element(document, 'span', {
                text: `${announcement.metadata.name ?? '(unnamed)'}: ${shortNpub(pubkey)}, fee ${fee.baseMsat / 1000n} sat + ${fee.ppm} ppm`,
              }),
              use,
            );
          }),
        );
      })
      .finally(() => {
        finder.close();
        ui.findAgents.disabled = false;
      });
  });

  // ------------------------------------------------------------------------------------------ signing

  function useSigner(next: BoardSigner): void {
    void signer?.close();
    signer = next;
    session?.setSigner(next);
    const how = {
      extension: 'your browser extension',
      bunker: 'your remote signer',
      throwaway: 'a throwaway key',
    }[next.method];
    ui.whoami.replaceChildren(
      element(document, 'span', { text: 'Signing as ' }),
      element(document, 'span', {
        className: 'npub',
        text: npubEncode(next.pubkey),
        attributes: { id: 'my-npub' },
      }),
      element(document, 'span', { text: ` with ${how}.` }),
    );
    ui.whoami.setAttribute('data-method', next.method);
    ui.whoami.hidden = false;
    ui.throwawayWarning.hidden = next.method !== 'throwaway';
    ui.nsec.hidden = true;
    ui.nsec.value = '';
    draw();
  }

  if (board().nostr === undefined) {
    ui.useExtension.disabled = true;
    ui.extensionMissing.hidden = false;
  }
  ui.useExtension.addEventListener('click', () => {
    const nostr = board().nostr;
    if (nostr === undefined) return fail('No NIP-07 extension in this browser.', null);
    void extensionSigner(nostr).then(useSigner, (error) => fail(`The extension: ${problem(error)}`, null));
  });
  ui.useBunker.addEventListener('click', () => {
    ui.useBunker.disabled = true;
    info('Connecting to the remote signer… approve the connection in your signer app.', null);
    void bunkerSigner(ui.bunkerUrl.value, (url) =>
      info(`Your signer asks you to approve this page at: ${url}`, null),
    )
      .then(useSigner, (error) => fail(`The remote signer: ${problem(error)}`, null))
      .finally(() => {
        ui.useBunker.disabled = false;
      });
  });
  ui.useThrowaway.addEventListener('click', () => useSigner(throwawaySigner()));
  ui.showNsec.addEventListener('click', () => {
    if (signer?.method !== 'throwaway') return;
    ui.nsec.value = (signer as ThrowawaySigner).exportNsec();
    ui.nsec.hidden = false;
    ui.nsec.select();
  });

  // ------------------------------------------------------------------------------------------ the wallet

  const remembered = storage()?.getItem(REMEMBERED_WALLET) ?? null;
  if (remembered !== null) {
    ui.nwcUri.value = remembered;
    ui.nwcRemember.checked = true;
  }
  ui.nwcRemember.addEventListener('change', () => {
    if (!ui.nwcRemember.checked) storage()?.removeItem(REMEMBERED_WALLET);
    else if (wallet !== null) storage()?.setItem(REMEMBERED_WALLET, ui.nwcUri.value.trim());
  });

  async function connectWallet(): Promise<WalletConnection | null> {
    if (wallet !== null) return wallet;
    const uri = readWalletUri(ui.nwcUri.value);
    if (!uri.ok) {
      ui.nwcStatus.textContent = `Check ${uri.error}.`;
      return null;
    }
    ui.nwcStatus.textContent = 'Connecting to the wallet…';
    try {
      const connection = await WalletConnection.connect(uri.value, openSocket);
      wallet = connection;
      if (ui.nwcRemember.checked) storage()?.setItem(REMEMBERED_WALLET, ui.nwcUri.value.trim());
      const balance = connection.offers('get_balance')
        ? await connection.call('get_balance', {}, 15_000)
        : null;
      const sats =
        balance?.ok && typeof balance.result.balance === 'number'
          ? `, balance ${Math.floor(balance.result.balance / 1000).toLocaleString('en')} sat`
          : '';
      ui.nwcStatus.textContent = `Wallet connected${sats}. It can ${
        ['pay_invoice', 'make_invoice']
          .filter((method) => connection.offers(method))
          .map((method) => (method === 'pay_invoice' ? 'pay' : 'make invoices'))
          .join(' and ') || 'do neither of pay and make invoices'
      }.`;
      ui.nwcStatus.setAttribute('data-connected', 'true');
      return connection;
    } catch (error) {
      ui.nwcStatus.textContent = problem(error);
      return null;
    }
  }
  ui.nwcConnect.addEventListener('click', () => {
    wallet?.close();
    wallet = null;
    ui.nwcStatus.removeAttribute('data-connected');
    void connectWallet();
  });

  // ------------------------------------------------------------------------------------------ posting

  ui.postAmount.addEventListener('input', updateFee);
  ui.postForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (session === null) return fail('Connect to an agent first (section 1).', null);
    const sats = ui.postAmount.value.trim();
    if (!/^[0-9]{1,13}$/.test(sats) || sats === '0') {
      return fail('The amount is a whole number of sats, more than 0.', null);
    }
    const title = ui.postTitle.value.trim();
    if (title === '') return fail('The task needs a title.', null);
    ui.postButton.disabled = true;
    const active = session;
    void active
      .post({
        d: `task-${bytesToHex(randomBytes(6))}`,
        title,
        amountMsat: BigInt(sats) * 1000n,
        content: ui.postDescription.value,
      })
      .then((listing) => {
        ui.postTitle.value = '';
        ui.postDescription.value = '';
        select(listing.id);
      })
      .catch((error) => fail(`Not posted: ${problem(error)}`, null))
      .finally(() => {
        ui.postButton.disabled = false;
      });
  });

  // ------------------------------------------------------------------------------------------ paying

  ui.payCopy.addEventListener('click', () => {
    const text = ui.payBolt11.value;
    const clipboard = board().navigator.clipboard;
    const fallback = () => {
      ui.payBolt11.select();
      if (document.execCommand('copy')) info('The invoice is copied.');
      else info('Select the invoice and copy it (your browser refused to copy it for the page).');
    };
    if (clipboard === undefined) return fallback();
    clipboard.writeText(text).then(() => info('The invoice is copied.'), fallback);
  });

  ui.payWebln.addEventListener('click', () => {
    const webln = board().webln;
    const bolt11 = ui.payBolt11.value;
    if (webln === undefined || bolt11 === '') return;
    info('Sent to your WebLN wallet: the payment stays in flight (held) until the task ends.');
    void webln
      .enable()
      .then(() => webln.sendPayment(bolt11))
      .then(
        () => info('Your WebLN wallet reports the payment complete.'),
        (error) => fail(`Your WebLN wallet: ${problem(error)}`),
      );
  });

  ui.payNwc.addEventListener('click', () => {
    const bolt11 = ui.payBolt11.value;
    const taskId = selected;
    if (bolt11 === '') return;
    ui.payNwc.disabled = true;
    void connectWallet()
      .then(async (connection) => {
        if (connection === null) return fail('Paste a wallet connection (section 2) to pay with it.');
        info(
          'Paying through the wallet connection: the payment stays in flight (held) until the task ends.',
          taskId,
        );
        const answer = await connection.call('pay_invoice', { invoice: bolt11 }, PAY_WAIT_MS);
        if (answer.ok) return info('The wallet reports the payment complete.', taskId);
        // A hold keeps the payment in flight: a wallet that stops waiting says so; the `funded` transition is the truth.
        if (answer.code === 'TIMEOUT' || /pending|in flight/i.test(answer.message)) {
          return info('The payment is in flight; the task turns funded once the agent sees it held.', taskId);
        }
        fail(`The wallet did not pay: ${answer.code}: ${answer.message}`, taskId);
      })
      .finally(() => {
        ui.payNwc.disabled = false;
      });
  });

  // ------------------------------------------------------------------------------------------ actions

  /** Runs one action on the selected task; the session reports the agent's answer. */
  function act(
    button: BoardElement,
    build: (taskId: string) => Parameters<BoardSession['act']>[0] | string,
  ): void {
    if (session === null || selected === null) return;
    const input = build(selected);
    if (typeof input === 'string') {
      fail(input);
      return;
    }
    button.disabled = true;
    void session
      .act(input)
      .catch((error) => fail(`Not sent: ${problem(error)}`))
      .finally(() => {
        button.disabled = false;
      });
  }

  /** An invoice for exactly what `recipient` is owed, from the wallet connection's make_invoice. */
  async function makeInvoice(
    target: BoardElement,
    owed: (view: NonNullable<ReturnType<BoardSession['book']['view']>>) => bigint | string,
  ) {
    if (session === null || selected === null) return;
    const view = session.book.view(selected);
    if (view === null) return;
    const amount = owed(view);
    if (typeof amount === 'string') return fail(amount);
    const connection = await connectWallet();
    if (connection === null)
      return fail('Paste a wallet connection (section 2) to make the invoice with it.');
    if (!connection.offers('make_invoice'))
      return fail('This wallet connection does not offer make_invoice.');
    const answer = await connection.call(
      'make_invoice',
      {
        amount: Number(amount),
        description: `escrow payout: ${view.title}`.slice(0, 200),
        expiry: PAYOUT_INVOICE_EXPIRY_SECONDS,
      },
      WALLET_CALL_MS,
    );
    if (!answer.ok) return fail(`The wallet made no invoice: ${answer.code}: ${answer.message}`);
    const bolt11 = answer.result.invoice;
    if (typeof bolt11 !== 'string' || bolt11 === '') return fail('The wallet answered without an invoice.');
    target.value = bolt11;
    info(`Invoice made for ${formatMsat(amount)}: exactly what you are owed (amount − fee).`);
  }

  const workerShare = (view: NonNullable<ReturnType<BoardSession['book']['view']>>): bigint | string =>
    view.amountMsat !== null && view.feeMsat !== null
      ? view.amountMsat - view.feeMsat
      : "The task's amount and fee are not known yet (its offer has not arrived).";

  ui.claim.addEventListener('click', () => act(ui.claim, (taskId) => ({ action: 'claim', taskId })));
  ui.makeInvoice.addEventListener('click', () => {
    ui.makeInvoice.disabled = true;
    void makeInvoice(ui.submitInvoice, workerShare).finally(() => {
      ui.makeInvoice.disabled = false;
    });
  });
  ui.submit.addEventListener('click', () =>
    act(ui.submit, (taskId) => {
      const delivery = ui.submitDelivery.value.trim();
      if (delivery === '') return 'Say what you delivered (a note or a link).';
      const bolt11 = ui.submitInvoice.value.trim();
      if (bolt11 === '')
        return 'Give a payout invoice for amount − fee (or make one with the wallet connection).';
      return { action: 'submit', taskId, delivery, bolt11 };
    }),
  );
  ui.approve.addEventListener('click', () => act(ui.approve, (taskId) => ({ action: 'approve', taskId })));
  ui.cancel.addEventListener('click', () => act(ui.cancel, (taskId) => ({ action: 'cancel', taskId })));
  ui.dispute.addEventListener('click', () =>
    act(ui.dispute, (taskId) => {
      const reason = ui.disputeReason.value.trim();
      return reason === ''
        ? 'Say what went wrong: the arbitrators read it.'
        : { action: 'dispute', taskId, reason };
    }),
  );
  ui.verdict.addEventListener('click', () =>
    act(ui.verdict, (taskId) => {
      const outcome = ui.verdictOutcome.value;
      const note = ui.verdictNote.value.trim();
      if (outcome === 'split') {
        const share = ui.verdictShare.value.trim();
        if (!/^[0-9]{1,5}$/.test(share) || Number(share) > 10_000) {
          return "A split needs the worker's share in basis points, 0 to 10000 (5000 is half).";
        }
        return { action: 'verdict', taskId, outcome: 'split', workerShareBps: Number(share), note };
      }
      if (outcome !== 'worker' && outcome !== 'poster') return 'Choose an outcome.';
      return { action: 'verdict', taskId, outcome, note };
    }),
  );
  ui.payoutMakeInvoice.addEventListener('click', () => {
    ui.payoutMakeInvoice.disabled = true;
    void makeInvoice(ui.payoutInvoice, (view) =>
      roleOf(view, signer?.pubkey ?? null) === 'worker'
        ? workerShare(view)
        : 'Make the invoice in your wallet for the amount the payout_pending transition names.',
    ).finally(() => {
      ui.payoutMakeInvoice.disabled = false;
    });
  });
  ui.payoutSend.addEventListener('click', () =>
    act(ui.payoutSend, (taskId) => {
      const view = session?.book.view(taskId);
      const role = view ? roleOf(view, signer?.pubkey ?? null) : null;
      const bolt11 = ui.payoutInvoice.value.trim();
      if (bolt11 === '') return 'Paste an invoice for what you are owed.';
      if (role !== 'worker' && role !== 'poster') return 'Only the recipient of a payout gives its invoice.';
      return { action: 'payout_invoice', taskId, recipient: role, bolt11 };
    }),
  );

  // ------------------------------------------------------------------------------------------ start

  const params = new URLSearchParams(board().location.hash.replace(/^#/, ''));
  ui.agent.value = params.get('agent') ?? '';
  ui.relays.value = (params.get('relays') ?? '')
    .split(',')
    .filter((url) => url !== '')
    .join('\n');
  updateFee();
  draw();
  if (ui.agent.value !== '' && ui.relays.value !== '') connect(ui.agent.value, ui.relays.value);
  document.body.setAttribute('data-ready', 'true');
}

start();
