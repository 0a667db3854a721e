// The keyboard of the labeling page: which command each key means, per mode and focus.
import assert from "node:assert/strict";
import { test } from "node:test";

import { keyCommand } from "../../label_ui/static/label_ui/keys.mjs";

const base = { focus: "stage", selected: false, drafting: null, crosshair: false };
const labeler = { ...base, mode: "labeler" };
const reviewer = { ...base, mode: "reviewer" };
const viewer = { ...base, mode: "viewer" };
const press = (key, mods = {}) => ({ key, ctrl: false, shift: false, alt: false, ...mods });

test("1-9 pick a category, 0 is not one", () => {
  assert.deepEqual(keyCommand(press("1"), labeler), { name: "category", index: 0 });
  assert.deepEqual(keyCommand(press("9"), reviewer), { name: "category", index: 8 });
  assert.deepEqual(keyCommand(press("0"), labeler), { name: "action", action: "fit" });
});

test("n / p navigate for everyone", () => {
  for (const context of [labeler, reviewer, viewer]) {
    assert.deepEqual(keyCommand(press("n"), context), { name: "action", action: "next" });
    assert.deepEqual(keyCommand(press("P", { shift: true }), context), { name: "action", action: "prev" });
  }
});

test("s, Delete and the tools are a labeler's only", () => {
  assert.deepEqual(keyCommand(press("s"), labeler), { name: "action", action: "submit" });
  assert.deepEqual(keyCommand(press("Delete"), labeler), { name: "action", action: "delete" });
  assert.deepEqual(keyCommand(press("g"), labeler), { name: "tool", tool: "polygon" });
  for (const context of [reviewer, viewer]) {
    for (const key of ["s", "Delete", "Backspace", "b", "g"]) assert.equal(keyCommand(press(key), context), null, key);
  }
});

test("a / r are a reviewer's only", () => {
  assert.deepEqual(keyCommand(press("a"), reviewer), { name: "action", action: "accept" });
  assert.deepEqual(keyCommand(press("r"), reviewer), { name: "action", action: "reject" });
  for (const context of [labeler, viewer]) {
    assert.equal(keyCommand(press("a"), context), null);
    assert.equal(keyCommand(press("r"), context), null);
  }
});

test("Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo, for a labeler", () => {
  assert.deepEqual(keyCommand(press("z", { ctrl: true }), labeler), { name: "undo" });
  assert.deepEqual(keyCommand(press("Z", { ctrl: true, shift: true }), labeler), { name: "redo" });
  assert.deepEqual(keyCommand(press("y", { ctrl: true }), labeler), { name: "redo" });
  assert.equal(keyCommand(press("z", { ctrl: true }), reviewer), null);
  assert.equal(keyCommand(press("s", { ctrl: true }), labeler), null, "the browser keeps its own shortcuts");
});

test("arrows move the selected shape, or the crosshair on the image", () => {
  const onShape = { ...labeler, focus: "shape", selected: true };
  assert.deepEqual(keyCommand(press("ArrowLeft"), onShape), { name: "nudge", dx: -1, dy: 0 });
  assert.deepEqual(keyCommand(press("ArrowDown", { shift: true }), onShape), { name: "nudge", dx: 0, dy: 10 });
  assert.deepEqual(keyCommand(press("ArrowUp"), labeler), { name: "crosshair", dx: 0, dy: -1, fast: false });
  assert.equal(keyCommand(press("ArrowUp"), { ...labeler, focus: "other" }), null, "page scrolling stays");
  assert.equal(keyCommand(press("ArrowUp"), reviewer), null);
});

test("Enter shows the crosshair, places points and closes polygons", () => {
  assert.deepEqual(keyCommand(press("Enter"), labeler), { name: "show-crosshair" });
  assert.deepEqual(keyCommand(press("Enter"), { ...labeler, crosshair: true }), { name: "place" });
  const drafting = { ...labeler, drafting: "polygon" };
  assert.deepEqual(keyCommand(press("Enter"), drafting), { name: "close-polygon" });
  assert.deepEqual(keyCommand(press("Enter"), { ...drafting, crosshair: true }), { name: "place" });
  assert.equal(keyCommand(press("Enter"), { ...labeler, focus: "button" }), null, "a focused button clicks");
  assert.equal(keyCommand(press(" "), { ...labeler, focus: "button" }), null);
});

test("Space on the image pans, Escape cancels", () => {
  assert.deepEqual(keyCommand(press(" "), labeler), { name: "pan-key" });
  assert.deepEqual(keyCommand(press("Escape"), reviewer), { name: "escape" });
});
