// What the agent has said about each task, read live from the relay with the task client's session
// (src/cli/task-client): every transition and refusal the agent signs, verified, kept per task. The driver waits on
// it for a task to reach a state; the final checks read the same events again from scratch.

import { type AgentAnswer, readAgentEvent } from '../../src/cli/task-client/answers.ts';
import { ClientSession } from '../../src/cli/task-client/session.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import type { ParsedTransition } from '../../src/protocol/parse-transition.ts';

export interface WatchedTask {
  transitions: ParsedTransition[];
  states: Set<string>;
}

export class TaskWatch {
  private readonly tasks = new Map<string, WatchedTask>();
  /** Refusals by the id of the refused event. */
  readonly refusals = new Map<string, { code: string; reason: string }>();
  private readonly waiters = new Set<() => void>();
  private closeListen: (() => void) | null = null;

  private constructor(readonly session: ClientSession) {}

  static async start(relayUrl: string, agent: string): Promise<TaskWatch> {
    const session = new ClientSession(
      { publish: [relayUrl], read: [relayUrl], source: 'torture', notes: [] },
      { timeoutMs: 10_000 },
    );
    const watch = new TaskWatch(session);
    await session.connected();
    watch.closeListen = await session.listen({ kinds: [KINDS.label], authors: [agent] }, (event) => {
      const answer = readAgentEvent(event, agent);
      if (answer) watch.take(answer);
    });
    return watch;
  }

  private take(answer: AgentAnswer): void {
    if (answer.type === 'rejected') {
      this.refusals.set(answer.replyTo, { code: answer.code, reason: answer.reason });
    } else {
      const { transition } = answer;
      let task = this.tasks.get(transition.taskId);
      if (!task) {
        task = { transitions: [], states: new Set() };
        this.tasks.set(transition.taskId, task);
      }
      task.transitions.push(transition);
      task.states.add(transition.state);
    }
    for (const wake of [...this.waiters]) wake();
  }

  task(taskId: string): WatchedTask | undefined {
    return this.tasks.get(taskId);
  }

  /** The first transition of the task into one of `states` (seen at any time), or null after timeoutMs. */
  waitFor(taskId: string, states: readonly string[], timeoutMs: number): Promise<ParsedTransition | null> {
    const find = () => this.tasks.get(taskId)?.transitions.find((one) => states.includes(one.state)) ?? null;
    return this.waitUntil(find, timeoutMs);
  }

  /** The refusal of an event, or null after timeoutMs. */
  waitRefusal(eventId: string, timeoutMs: number): Promise<{ code: string; reason: string } | null> {
    return this.waitUntil(() => this.refusals.get(eventId) ?? null, timeoutMs);
  }

  private waitUntil<T>(find: () => T | null, timeoutMs: number): Promise<T | null> {
    const found = find();
    if (found !== null) return Promise.resolve(found);
    return new Promise((resolve) => {
      const check = () => {
        const value = find();
        if (value === null) return;
        done(value);
      };
      const done = (value: T | null) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.closeListen?.();
    await this.session.close();
  }
}
