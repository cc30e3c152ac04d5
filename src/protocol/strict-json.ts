// JSON.parse with two refusals the standard parser does not make:
// - duplicate keys: parsers disagree on which copy wins (JSON.parse keeps the last, others the first), so one
//   signed event could show different values to the agent, a relay and a client (a parser differential);
// - a `__proto__` key: JSON.parse makes it an own property, but any later Object.assign or merge would
//   treat it as the prototype setter (prototype pollution). No Nostr field is called that.
// Both are refused before any schema sees the value.
import { type IntakeFailure, intakeFailure } from './reasons.ts';

export type StrictJsonResult = { ok: true; value: unknown } | IntakeFailure;

export function parseStrictJson(text: string): StrictJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return intakeFailure('NotJson', 'not JSON');
  }
  const problem = findKeyProblem(text);
  return problem ?? { ok: true, value };
}

/**
 * Walks text that JSON.parse accepted, tracking the keys of every open object. Iterative, so nesting depth
 * cannot overflow the stack. Keys are compared after unescaping ("\u0069d" is the key "id").
 */
function findKeyProblem(text: string): IntakeFailure | null {
  const stack: Array<Set<string> | null> = []; // a Set per open object, null per open array
  let expectingKey = false;
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === '"') {
      const end = endOfString(text, index);
      const open = stack[stack.length - 1];
      if (open && expectingKey) {
        const key = JSON.parse(text.slice(index, end + 1)) as string;
        if (key === '__proto__') return intakeFailure('ForbiddenKey', 'JSON key "__proto__" is not allowed');
        if (open.has(key)) return intakeFailure('DuplicateKey', `duplicate JSON key ${JSON.stringify(key)}`);
        open.add(key);
        expectingKey = false;
      }
      index = end + 1;
      continue;
    }
    if (char === '{') {
      stack.push(new Set());
      expectingKey = true;
    } else if (char === '[') {
      stack.push(null);
      expectingKey = false;
    } else if (char === '}' || char === ']') {
      stack.pop();
      expectingKey = false;
    } else if (char === ',') {
      expectingKey = stack[stack.length - 1] instanceof Set;
    }
    index += 1;
  }
  return null;
}

/** Index of the closing quote of the string that opens at `start` (the text is known to be valid JSON). */
function endOfString(text: string, start: number): number {
  let index = start + 1;
  while (text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
  return index;
}
