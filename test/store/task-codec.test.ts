// The task body codec (src/store/task-codec.ts): canonical JSON in, the same task out with every `...Msat` field a
// bigint again, however deep (the ledger, each payout); a money field that is not a decimal string is a corrupt
// row, said as such, never a number or a string passed on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreError } from '../../src/store/store-error.ts';
import { decodeEvent, decodeTask, encodeBody } from '../../src/store/task-codec.ts';
import { taskStory } from '../fakes/store-fixtures.ts';

const story = taskStory('codec');
const paid = story.paid.task;
const rowOf = (task: typeof paid) => ({ id: task.id, state: task.state, version: task.version });

test('a paid task comes back equal, its nested money fields bigints', () => {
  const decoded = decodeTask(encodeBody(paid), rowOf(paid));
  assert.equal(decoded, paid);
  assert.is(typeof decoded.amountMsat, 'bigint');
  assert.is(typeof decoded.ledger.receivedMsat, 'bigint');
  assert.ok(
    decoded.payouts.length > 0 && decoded.payouts.every((payout) => typeof payout.amountMsat === 'bigint'),
  );
});

test('events come back equal too', () => {
  for (const event of story.paid.events) {
    const where = { taskId: story.id, seq: 1, eventType: event.type };
    assert.equal(decodeEvent(encodeBody(event), where), event);
  }
});

test('a money field that is not a decimal string is a corrupt row', () => {
  const body = encodeBody(paid);
  for (const bad of [
    body.replace(`"amountMsat":"${paid.amountMsat}"`, `"amountMsat":${paid.amountMsat}`),
    body.replace(`"amountMsat":"${paid.amountMsat}"`, '"amountMsat":"12x"'),
    body.replace(`"receivedMsat":"${paid.ledger.receivedMsat}"`, '"receivedMsat":null'),
  ]) {
    assert.is.not(bad, body, 'the test changed the body');
    try {
      decodeTask(bad, rowOf(paid));
      assert.unreachable('decoded');
    } catch (error) {
      assert.instance(error, StoreError);
      assert.is((error as StoreError).kind, 'CorruptRow');
    }
  }
});

test.run();
