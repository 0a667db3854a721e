// The image page's keyboard: which command a key press means, for the user's mode and what has focus.
// Pure (no DOM), so Node's test runner checks the bindings (tests/js/keys.test.mjs).
//
// press:   {key, ctrl, shift, alt}            (ctrl is Ctrl or Cmd)
// context: {mode: "labeler" | "reviewer" | "viewer",
//           focus: "stage" | "shape" | "button" | "other",
//           selected: bool, drafting: "box" | "polygon" | null, crosshair: bool}
// Returns a command {name, ...} or null when the key is left to the browser.

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const EVERYONE = { n: "next", p: "prev", "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", 0: "fit" };
const LABELER = { s: "submit", Delete: "delete", Backspace: "delete" };
const REVIEWER = { a: "accept", r: "reject" };
const TOOLS = { b: "box", g: "polygon" };

export function keyCommand(press, context) {
  const { key, ctrl, shift, alt } = press;
  const labeler = context.mode === "labeler";
  const lower = key.length === 1 ? key.toLowerCase() : key;
  if (ctrl && lower === "z") return labeler ? { name: shift ? "redo" : "undo" } : null;
  if (ctrl && lower === "y") return labeler ? { name: "redo" } : null;
  if (ctrl || alt) return null;
  if (key === " " && context.focus === "stage") return { name: "pan-key" };
  if (key in ARROWS && (context.focus === "stage" || context.focus === "shape")) {
    const [dx, dy] = ARROWS[key];
    if (!labeler) return null;
    if (context.focus === "shape" && context.selected) {
      const step = shift ? 10 : 1;
      return { name: "nudge", dx: dx * step, dy: dy * step };
    }
    if (context.focus === "stage") return { name: "crosshair", dx, dy, fast: shift };
    return null;
  }
  if (key === "Enter" && labeler) {
    if (context.drafting === "polygon" && (context.focus !== "stage" || !context.crosshair)) {
      return { name: "close-polygon" };
    }
    if (context.focus === "stage") return { name: context.crosshair ? "place" : "show-crosshair" };
  }
  if (context.focus === "button" && (key === "Enter" || key === " ")) return null; // the button's own click
  if (key === "Escape") return { name: "escape" };
  if (/^[1-9]$/.test(key)) return { name: "category", index: Number(key) - 1 };
  if (labeler && lower in TOOLS) return { name: "tool", tool: TOOLS[lower] };
  const bindings = { ...EVERYONE, ...(labeler ? LABELER : {}), ...(context.mode === "reviewer" ? REVIEWER : {}) };
  const action = bindings[lower];
  return action ? { name: "action", action } : null;
}
