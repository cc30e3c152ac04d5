// Task and TaskEvent bodies are stored as canonical JSON (src/domain/canonical.ts): sorted keys, bigints as
// decimal strings. Decoding turns the strings back into bigints by the domain's naming rule: money is always
// integer msat (bigint), in fields whose names end in `Msat`. The type checks at the bottom make the compiler
// enforce that rule on Task and TaskEvent, so a new money field cannot be decoded as a string by mistake.
import { canonicalJson } from '../domain/canonical.ts';
import { TASK_STATES, type Task, type TaskEvent, type TaskState } from '../domain/types.ts';
import { StoreError } from './store-error.ts';

const MONEY_KEY = /Msat$/;
const DECIMAL = /^-?\d+$/;

export function encodeBody(value: Task | TaskEvent): string {
  return canonicalJson(value);
}

/** Turns every `...Msat` field's decimal string into a bigint, in place (half the cost of a JSON.parse reviver:
 * a reconcile round decodes every unfinished task). */
function moneyToBigInts(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) moneyToBigInts(item);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (MONEY_KEY.test(key)) {
      if (typeof item !== 'string' || !DECIMAL.test(item)) throw new TypeError(`${key} is not a decimal`);
      record[key] = BigInt(item);
    } else moneyToBigInts(item);
  }
}

function parseBody(body: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
    moneyToBigInts(parsed);
  } catch (error) {
    throw new StoreError('CorruptRow', `${what} body is not valid canonical JSON`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StoreError('CorruptRow', `${what} body is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Decodes a task body and checks it against the row's own columns (a body out of step with its row is
 * corruption, not something to paper over). */
export function decodeTask(body: string, row: { id: string; state: string; version: number }): Task {
  const task = parseBody(body, `task ${row.id}`);
  if (task.id !== row.id || task.state !== row.state || task.version !== row.version) {
    throw new StoreError('CorruptRow', `task ${row.id}: body disagrees with its row (id, state or version)`);
  }
  if (!(TASK_STATES as readonly string[]).includes(row.state)) {
    throw new StoreError('CorruptRow', `task ${row.id}: unknown state`);
  }
  // Tasks recorded before disputes were committed per task have no arbitration, statements, verdicts nor
  // custodySince: they were offered without arbitrators (the agent then took no disputes).
  task.arbitration ??= { arbitrators: [], threshold: 0, deadlineRule: 'refund', rulesSha256: '' };
  task.statements ??= [];
  task.verdicts ??= [];
  task.custodySince ??= null;
  return task as unknown as Task;
}

export function decodeEvent(
  body: string,
  where: { taskId: string; seq: number; eventType: string },
): TaskEvent {
  const event = parseBody(body, `audit ${where.taskId}#${where.seq}`);
  if (event.type !== where.eventType || typeof event.at !== 'number') {
    throw new StoreError('CorruptRow', `audit ${where.taskId}#${where.seq}: body disagrees with its row`);
  }
  return event as unknown as TaskEvent;
}

export function isTaskState(value: string): value is TaskState {
  return (TASK_STATES as readonly string[]).includes(value);
}

// ---- compile-time checks of the naming rule the decoder relies on ----

/** Every key, at any depth of T, whose value can be a bigint. */
type KeysHoldingBigint<T> = T extends readonly (infer Item)[]
  ? KeysHoldingBigint<Item>
  : T extends object
    ? { [K in keyof T]-?: (bigint extends T[K] ? K : never) | KeysHoldingBigint<T[K]> }[keyof T]
    : never;

/** Every key ending in Msat, at any depth of T, whose value is not a bigint (or null). */
type MsatKeysNotBigint<T> = T extends readonly (infer Item)[]
  ? MsatKeysNotBigint<Item>
  : T extends object
    ? {
        [K in keyof T]-?:
          | (K extends `${string}Msat` ? (Exclude<T[K], null> extends bigint ? never : K) : never)
          | MsatKeysNotBigint<T[K]>;
      }[keyof T]
    : never;

type MustBeNever<T extends never> = T;
/** Fails to compile if Task or TaskEvent holds a bigint in a field whose name does not end in Msat. */
export type BigintFieldsEndInMsat = MustBeNever<
  Exclude<KeysHoldingBigint<Task | TaskEvent>, `${string}Msat`>
>;
/** Fails to compile if Task or TaskEvent has an ...Msat field that is not a bigint. */
export type MsatFieldsAreBigint = MustBeNever<MsatKeysNotBigint<Task | TaskEvent>>;
