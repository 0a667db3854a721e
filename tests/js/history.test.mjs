// The undo stack of the labeling page.
import assert from "node:assert/strict";
import { test } from "node:test";

import { History } from "../../label_ui/static/label_ui/geometry.mjs";

test("undo and redo walk the recorded states", () => {
  const history = new History([]);
  history.push([1]);
  history.push([1, 2]);
  assert.deepEqual(history.undo(), [1]);
  assert.deepEqual(history.undo(), []);
  assert.deepEqual(history.undo(), [], "undo at the start stays there");
  assert.equal(history.canUndo(), false);
  assert.deepEqual(history.redo(), [1]);
  assert.deepEqual(history.redo(), [1, 2]);
  assert.equal(history.canRedo(), false);
  assert.deepEqual(history.redo(), [1, 2]);
});

test("a new change drops the redo branch", () => {
  const history = new History(["a"]);
  history.push(["a", "b"]);
  history.undo();
  history.push(["a", "c"]);
  assert.equal(history.canRedo(), false);
  assert.deepEqual(history.undo(), ["a"]);
});

test("states are copies: changing what was pushed or returned changes no history", () => {
  const state = [{ box: { xmin: 1 } }];
  const history = new History([]);
  history.push(state);
  state[0].box.xmin = 99;
  const current = history.current();
  current[0].box.xmin = 42;
  assert.deepEqual(history.current(), [{ box: { xmin: 1 } }]);
});

test("the history is bounded", () => {
  const history = new History(0, 3);
  for (let i = 1; i <= 10; i++) history.push(i);
  let steps = 0;
  while (history.canUndo()) {
    history.undo();
    steps++;
  }
  assert.equal(steps, 3);
  assert.equal(history.current(), 7);
});

test("reset forgets everything", () => {
  const history = new History([1]);
  history.push([2]);
  history.reset([3]);
  assert.equal(history.canUndo(), false);
  assert.equal(history.canRedo(), false);
  assert.deepEqual(history.current(), [3]);
});
