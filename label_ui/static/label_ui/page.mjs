// The image page: a labeler draws and edits shapes, a reviewer accepts or rejects labels.
// Every read and write goes through the REST API; which actions are offered follows the roles the
// API reports for the user in this task. Geometry (image pixels <-> display) lives in geometry.mjs.

import { ApiError, makeApi } from "./api.mjs";
import { keyCommand } from "./keys.mjs";
import {
  History,
  annotationsFromShapes,
  boxFromCorners,
  fitView,
  moveShape,
  pan,
  resizeBox,
  shapesFromAnnotation,
  snap,
  toImage,
  viewTransform,
  zoomAt,
} from "./geometry.mjs";

const config = JSON.parse(document.getElementById("label-config").textContent);
const api = makeApi(config);
const SVG = "http://www.w3.org/2000/svg";
const CATEGORY_COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#0f9ba8", "#c2185b", "#7a8f00", "#9a6324", "#1a237e"];
const LABELER_COLORS = ["#ff9800", "#00bcd4", "#e91e63", "#8bc34a", "#9c27b0", "#ffeb3b"];
const MIN_BOX_DISPLAY_PX = 4;
const CLOSE_DISTANCE_DISPLAY_PX = 10;

const $ = (selector) => document.querySelector(selector);
const taskPath = `/label-projects/${config.projectId}/tasks/${config.taskId}`;

const state = {
  mode: null, // "labeler" | "reviewer" | "viewer"
  myRoles: [],
  task: null,
  categories: [],
  category: 0,
  tool: "box",
  image: null, // the task image as the API shows it
  dims: null, // {width, height} in image pixels
  sources: [], // stored annotations the editable shapes came from
  baseLabelId: "",
  history: new History([]),
  shapes: [],
  selected: -1,
  dirty: false,
  skipArmed: false,
  draft: null, // {kind: "box", a, b} or {kind: "polygon", points: [...], hover}
  drag: null,
  view: { x: 0, y: 0, w: 1, h: 1 },
  crosshair: null,
  visited: [],
  position: -1,
  waiting: null,
  busy: false,
  spaceDown: false,
  conflict: null,
};

// ---------------------------------------------------------------- small DOM helpers

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function viewport() {
  const rect = $("#canvas").getBoundingClientRect();
  return { width: Math.max(1, rect.width), height: Math.max(1, rect.height) };
}

function displayPoint(event) {
  const rect = $("#canvas").getBoundingClientRect();
  return { x: event.clientX - rect.left, y: event.clientY - rect.top };
}

function imagePoint(event) {
  return toImage(displayPoint(event), state.view, viewport());
}

// Display pixels per image pixel, divided by the page's size unit (the root font grows on 4K screens),
// so that handles and tags drawn as "n / scale()" image pixels keep a readable size on every screen.
function scale() {
  const unit = parseFloat(getComputedStyle(document.documentElement).fontSize) / 15 || 1;
  return viewTransform(state.view, viewport()).scale / unit;
}

function categoryColor(name) {
  const index = state.categories.findIndex((c) => c.name === name);
  return CATEGORY_COLORS[(index < 0 ? 0 : index) % CATEGORY_COLORS.length];
}

const BANNER_SECONDS = 4;
let bannerTimer = null;

// A message over the top of the image; news without buttons (saved, next one) fades after a few seconds
// so that it does not hide the image, warnings and errors stay until the next message.
function banner(message, kind = "info", actions = []) {
  const node = $("#banner");
  clearTimeout(bannerTimer);
  if (message && actions.length === 0 && (kind === "success" || kind === "info")) {
    bannerTimer = setTimeout(() => (node.hidden = true), BANNER_SECONDS * 1000);
  }
  node.replaceChildren();
  if (!message) {
    node.hidden = true;
    return;
  }
  node.hidden = false;
  node.className = `banner ${kind}`;
  node.setAttribute("role", kind === "error" || kind === "conflict" ? "alert" : "status");
  node.append(html("span", {}, message));
  for (const [label, handler] of actions) {
    const button = html("button", { type: "button" }, label);
    button.addEventListener("click", handler);
    node.append(button);
  }
}

function showError(error) {
  if (error instanceof ApiError && (error.status === 401 || error.code === 401000)) {
    banner("Your session has ended. Sign in again; nothing you drew is lost in this tab until you leave it.", "error", [
      ["Sign in", () => window.open(`/label/login/?next=/label/`, "_blank")],
    ]);
    return;
  }
  banner(error instanceof ApiError ? error.describe() : String(error), "error");
}

// ---------------------------------------------------------------- rendering

function setView(view) {
  state.view = view;
  $("#canvas").setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  render();
}

function shapeLabel(shape, index) {
  const kind = shape.kind === "box" ? "Box" : shape.kind === "polygon" ? "Polygon" : "Keypoints";
  return `${kind} ${index + 1}: ${shape.category}`;
}

function drawShape(parent, shape, { color, index = -1, editable = false, dashed = false, title = "" }) {
  const group = el("g", { class: "shape" + (index === state.selected ? " selected" : "") }, parent);
  const common = {
    stroke: color,
    "stroke-width": index === state.selected ? 3 : 2,
    "vector-effect": "non-scaling-stroke",
    fill: color,
    "fill-opacity": index === state.selected ? 0.25 : 0.12,
  };
  if (dashed) common["stroke-dasharray"] = "6 4";
  let body;
  if (shape.kind === "box") {
    const b = shape.box;
    body = el("rect", { x: b.xmin, y: b.ymin, width: b.xmax - b.xmin, height: b.ymax - b.ymin, ...common }, group);
  } else if (shape.kind === "polygon") {
    body = el("polygon", { points: shape.points.map((p) => `${p.x},${p.y}`).join(" "), ...common }, group);
  } else {
    const r = 4 / scale();
    for (const p of shape.points) el("circle", { cx: p.x, cy: p.y, r, ...common, "fill-opacity": 0.9 }, group);
  }
  if (title) el("title", {}, group).textContent = title;
  tag(group, shape, color, dashed);
  if (!editable) {
    group.setAttribute("pointer-events", "none");
    return group;
  }
  group.dataset.index = index;
  group.setAttribute("tabindex", "0");
  group.setAttribute("role", "button");
  group.setAttribute("aria-label", `${shapeLabel(shape, index)}${index === state.selected ? ", selected" : ""}`);
  group.addEventListener("focus", () => {
    if (state.selected !== index) select(index, false);
  });
  if (body) body.dataset.index = index;
  if (index === state.selected) drawHandles(group, shape, color);
  return group;
}

// The category written at a shape's top-left corner, at a constant size on screen.
function tag(group, shape, color, dashed) {
  const points = shape.kind === "box" ? [{ x: shape.box.xmin, y: shape.box.ymin }] : shape.points;
  if (!points.length) return;
  const x = Math.min(...points.map((p) => p.x));
  const y = Math.min(...points.map((p) => p.y));
  const size = 13 / scale();
  const text = el("text", { x: x + 2 / scale(), y: y - 3 / scale(), "font-size": size, class: "tag",
    fill: "#ffffff", stroke: dashed ? "#000000" : color, "pointer-events": "none" }, group);
  text.textContent = shape.category;
}

function drawHandles(group, shape, color) {
  const r = 6 / scale();
  const handle = (x, y, name) =>
    el("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill: "#fff", stroke: color, "stroke-width": 2,
      "vector-effect": "non-scaling-stroke", class: "handle", "data-handle": name }, group);
  if (shape.kind === "box") {
    const b = shape.box;
    handle(b.xmin, b.ymin, "nw");
    handle(b.xmax, b.ymin, "ne");
    handle(b.xmin, b.ymax, "sw");
    handle(b.xmax, b.ymax, "se");
  } else {
    shape.points.forEach((p, i) => handle(p.x, p.y, `v${i}`));
  }
}

function render() {
  const shapesLayer = $("#shapes");
  const hadFocus = document.activeElement && document.activeElement.closest && document.activeElement.closest("#shapes");
  shapesLayer.replaceChildren();
  const editable = state.mode === "labeler";
  state.shapes.forEach((shape, index) => {
    drawShape(shapesLayer, shape, { color: categoryColor(shape.category), index, editable });
  });
  renderDraft();
  renderCrosshair();
  renderOthers();
  renderPrelabels();
  if (hadFocus && state.selected >= 0) {
    const node = shapesLayer.querySelector(`g[data-index="${state.selected}"]`);
    if (node) node.focus({ preventScroll: true });
  }
  renderShapeList();
}

function renderDraft() {
  const layer = $("#draft");
  layer.replaceChildren();
  const d = state.draft;
  if (!d) return;
  const color = categoryColor(currentCategory());
  const style = { stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke", fill: color, "fill-opacity": 0.1,
    "stroke-dasharray": "5 3" };
  if (d.kind === "box" && d.b) {
    const b = boxFromCorners(d.a, d.b);
    el("rect", { x: b.xmin, y: b.ymin, width: b.xmax - b.xmin, height: b.ymax - b.ymin, ...style }, layer);
  } else if (d.kind === "box") {
    el("circle", { cx: d.a.x, cy: d.a.y, r: 4 / scale(), fill: color }, layer);
  } else if (d.kind === "polygon") {
    const points = d.hover ? [...d.points, d.hover] : d.points;
    el("polyline", { points: points.map((p) => `${p.x},${p.y}`).join(" "), ...style, fill: "none" }, layer);
    d.points.forEach((p, i) =>
      el("circle", { cx: p.x, cy: p.y, r: (i === 0 ? 6 : 3.5) / scale(), fill: i === 0 ? "#fff" : color, stroke: color,
        "stroke-width": 2, "vector-effect": "non-scaling-stroke" }, layer),
    );
  }
}

function renderCrosshair() {
  const group = $("#crosshair");
  if (!state.crosshair || !state.dims) {
    group.hidden = true;
    group.setAttribute("display", "none");
    return;
  }
  group.hidden = false;
  group.removeAttribute("display");
  const { x, y } = state.crosshair;
  const attrs = { stroke: "#fff", "stroke-width": 1, "vector-effect": "non-scaling-stroke", "stroke-dasharray": "4 3" };
  for (const [key, value] of Object.entries(attrs)) {
    $("#ch-h").setAttribute(key, value);
    $("#ch-v").setAttribute(key, value);
  }
  Object.entries({ x1: 0, x2: state.dims.width, y1: y, y2: y }).forEach(([k, v]) => $("#ch-h").setAttribute(k, v));
  Object.entries({ x1: x, x2: x, y1: 0, y2: state.dims.height }).forEach(([k, v]) => $("#ch-v").setAttribute(k, v));
}

function labelerColor(userId) {
  const ids = (state.image?.labels || []).map((l) => l.user_id);
  return LABELER_COLORS[Math.max(0, ids.indexOf(userId)) % LABELER_COLORS.length];
}

function renderOthers() {
  const layer = $("#others");
  layer.replaceChildren();
  if (!state.image || state.mode === "labeler") return;
  for (const label of state.image.labels) {
    const color = labelerColor(label.user_id);
    label.annotations.forEach((annotation, i) => {
      for (const shape of shapesFromAnnotation(annotation, state.dims, i)) {
        drawShape(layer, shape, { color, title: `${label.user_name}: ${shape.category}` });
      }
    });
  }
}

function renderPrelabels() {
  const layer = $("#prelabels");
  layer.replaceChildren();
  // Pre-labels are the starting shapes of a labeler without a label; otherwise they are shown dashed.
  if (!state.image || !$("#show-prelabels").checked) return;
  const pre = state.image.default_labels;
  if (!pre || !pre.annotations || (state.mode === "labeler" && !state.baseLabelId)) return;
  pre.annotations.forEach((annotation, i) => {
    for (const shape of shapesFromAnnotation(annotation, state.dims, i)) {
      drawShape(layer, shape, { color: "#ffffff", dashed: true, title: `pre-label: ${shape.category}` });
    }
  });
}

function renderShapeList() {
  const list = $("#shape-list");
  if (!list) return;
  list.replaceChildren();
  $("#shape-count").textContent = state.shapes.length ? `(${state.shapes.length})` : "";
  if (!state.shapes.length) {
    list.append(html("li", { class: "muted" }, "No shapes yet: drag on the image to draw a box."));
  }
  state.shapes.forEach((shape, index) => {
    const item = html("li", { class: index === state.selected ? "selected" : "" });
    const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.background = categoryColor(shape.category);
    const pick = html("button", { type: "button", class: "link", "aria-pressed": String(index === state.selected) },
      shapeLabel(shape, index));
    pick.addEventListener("click", () => select(index, true));
    const remove = html("button", { type: "button", class: "icon", "aria-label": `Delete ${shapeLabel(shape, index)}` }, "✕");
    remove.addEventListener("click", () => {
      select(index, false);
      deleteSelected();
    });
    item.append(swatch, pick, remove);
    list.append(item);
  });
  $("[data-action=undo]").disabled = !state.history.canUndo();
  $("[data-action=redo]").disabled = !state.history.canRedo();
  $("[data-action=delete]").disabled = state.selected < 0;
}

function renderCategories() {
  const list = $("#categories");
  list.replaceChildren();
  state.categories.forEach((category, index) => {
    const item = html("li");
    const button = html("button", { type: "button", role: "radio", "aria-checked": String(index === state.category),
      "data-category": String(index), title: index < 9 ? `Key ${index + 1}` : "" });
    const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.background = CATEGORY_COLORS[index % CATEGORY_COLORS.length];
    button.append(swatch, document.createTextNode(category.name));
    if (index < 9) button.append(html("kbd", {}, String(index + 1)));
    button.addEventListener("click", () => pickCategory(index));
    item.append(button);
    list.append(item);
  });
}

function renderTools() {
  document.querySelectorAll("[data-tool]").forEach((button) => {
    button.setAttribute("aria-checked", String(button.dataset.tool === state.tool));
  });
  $("#stage").dataset.tool = state.tool;
}

function renderVerdicts() {
  const list = $("#verdicts");
  list.replaceChildren();
  const reviews = state.image ? state.image.reviews : [];
  if (!reviews.length) {
    list.append(html("li", { class: "muted" }, "None yet."));
    return;
  }
  const names = Object.fromEntries((state.image.labels || []).map((l) => [l.id, l.user_name]));
  for (const review of reviews) {
    const item = html("li", { class: `verdict ${review.action}` });
    const when = new Date(review.created_ts).toLocaleString();
    const word = review.action === "accept" ? "✓ accepted" : "✗ rejected";
    item.textContent = `${word} by ${review.user_name}${names[review.label_id] ? ` (label of ${names[review.label_id]})` : ""} · ${when}`;
    list.append(item);
  }
}

function myStatus() {
  if (!state.image) return null;
  const key = state.mode === "reviewer" ? `reviewer_${config.me.id}` : `labeler_${config.me.id}`;
  return state.image.role_status[key] || null;
}

function renderTitle() {
  const image = state.image;
  const total = state.task ? state.task.num_total : "?";
  $("#image-title").textContent = image
    ? `Image ${image.idx + 1} of ${total}  ·  ${state.dims.width}×${state.dims.height} px`
    : "No image";
  const chips = $("#status-chips");
  chips.replaceChildren();
  const status = myStatus();
  if (status) {
    chips.append(html("span", { class: `badge status-${status}`, title: "This image's status for you" }, status));
  }
  if (state.waiting) {
    const parts = Object.entries(state.waiting).map(([k, v]) => `${v} ${k}`);
    chips.append(html("span", { class: "muted" }, `waiting for you: ${parts.join(", ")}`));
  }
}

function renderReviewList() {
  const list = $("#review-list");
  list.replaceChildren();
  if (!state.image) return;
  const target = reviewTarget();
  if (!state.image.labels.length) list.append(html("li", { class: "muted" }, "No label on this image yet."));
  for (const label of state.image.labels) {
    const mine = state.image.reviews.find((r) => r.label_id === label.id && r.user_id === config.me.id);
    const item = html("li", { class: label === target ? "current" : "" });
    const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
    swatch.style.background = labelerColor(label.user_id);
    item.append(swatch, html("span", {}, `${label.user_name}: ${label.annotations.length} shape(s)`));
    if (mine) item.append(html("span", { class: `badge status-${mine.action === "accept" ? "accepted" : "rejected"}` },
      mine.action === "accept" ? "accepted" : "rejected"));
    else if (label === target) item.append(html("span", { class: "muted" }, "← a / r"));
    list.append(item);
  }
  const none = !target;
  $("[data-action=accept]").disabled = none;
  $("[data-action=reject]").disabled = none;
}

function renderAll() {
  renderTitle();
  renderVerdicts();
  if (state.mode === "reviewer") renderReviewList();
  render();
}

// ---------------------------------------------------------------- editing

function currentCategory() {
  return state.categories[state.category] ? state.categories[state.category].name : "";
}

function commit(shapes, selected = state.selected) {
  state.shapes = state.history.push(shapes);
  state.selected = selected;
  state.dirty = true;
  state.skipArmed = false;
  render();
}

function select(index, focus) {
  state.selected = index;
  if (index >= 0 && state.shapes[index]) {
    const at = state.categories.findIndex((c) => c.name === state.shapes[index].category);
    if (at >= 0) {
      state.category = at;
      renderCategories();
    }
  }
  render();
  if (focus && index >= 0) {
    const node = $(`#shapes g[data-index="${index}"]`);
    if (node) node.focus({ preventScroll: true });
  }
}

function pickCategory(index) {
  if (!state.categories[index]) return;
  state.category = index;
  renderCategories();
  if (state.mode === "labeler" && state.selected >= 0 && state.shapes[state.selected]) {
    const shapes = state.history.current();
    shapes[state.selected].category = state.categories[index].name;
    commit(shapes);
  } else {
    render();
  }
}

function addShape(shape) {
  const shapes = state.history.current();
  shapes.push(shape);
  commit(shapes, -1);
}

function deleteSelected() {
  if (state.selected < 0) return;
  const shapes = state.history.current();
  shapes.splice(state.selected, 1);
  commit(shapes, Math.min(state.selected, shapes.length - 1));
}

function undo() {
  state.shapes = state.history.undo();
  state.selected = -1;
  state.dirty = true;
  render();
}

function redo() {
  state.shapes = state.history.redo();
  state.selected = -1;
  state.dirty = true;
  render();
}

function nudge(dx, dy) {
  const shapes = state.history.current();
  shapes[state.selected] = moveShape(shapes[state.selected], dx, dy, state.dims);
  commit(shapes);
}

function closePolygon() {
  const d = state.draft;
  if (!d || d.kind !== "polygon") return;
  if (d.points.length >= 3) addShape({ kind: "polygon", category: currentCategory(), points: d.points });
  else banner("A polygon needs at least 3 points.", "info");
  state.draft = null;
  render();
}

// Keyboard drawing: Enter at the crosshair places a box corner or a polygon point.
function placeAtCrosshair() {
  const p = snap(state.crosshair, state.dims);
  if (state.tool === "polygon") {
    if (!state.draft) state.draft = { kind: "polygon", points: [] };
    state.draft.points.push(p);
  } else if (!state.draft) {
    state.draft = { kind: "box", a: p, b: null };
  } else {
    const box = boxFromCorners(state.draft.a, p);
    state.draft = null;
    if (box.xmax > box.xmin && box.ymax > box.ymin) addShape({ kind: "box", category: currentCategory(), box });
  }
  render();
}

// ---------------------------------------------------------------- pointer

function onPointerDown(event) {
  if (!state.dims) return;
  const stage = $("#stage");
  stage.focus({ preventScroll: true });
  state.crosshair = null;
  const start = displayPoint(event);
  if (event.button === 1 || event.button === 2 || state.spaceDown) {
    state.drag = { kind: "pan", last: start };
    $("#canvas").setPointerCapture(event.pointerId);
    event.preventDefault();
    return;
  }
  if (event.button !== 0 || state.mode !== "labeler") return;
  const target = event.target;
  const handle = target.dataset && target.dataset.handle;
  const indexText = target.closest && target.closest("[data-index]") ? target.closest("[data-index]").dataset.index : null;
  const p = imagePoint(event);
  if (state.draft && state.draft.kind === "polygon") {
    const first = state.draft.points[0];
    const near = first && Math.hypot(first.x - p.x, first.y - p.y) * scale() <= CLOSE_DISTANCE_DISPLAY_PX;
    if (near && state.draft.points.length >= 3) closePolygon();
    else {
      state.draft.points.push(snap(p, state.dims));
      render();
    }
    return;
  }
  // Dragging draws, even over other shapes (objects overlap); a click on a shape selects it; the
  // selected shape moves by its body and resizes by its handles.
  const index = indexText === null ? -1 : Number(indexText);
  if (handle && state.selected >= 0) {
    state.drag = { kind: "resize", handle, original: state.shapes[state.selected] };
  } else if (index >= 0 && index === state.selected) {
    state.drag = { kind: "move", from: p, original: state.shapes[index], moved: false };
  } else if (state.tool === "polygon" && index >= 0 && !event.shiftKey) {
    select(index, false); // Shift+click starts a polygon on top of a shape
    return;
  } else if (state.tool === "polygon") {
    state.selected = -1;
    state.draft = { kind: "polygon", points: [snap(p, state.dims)] };
    render();
    return;
  } else {
    state.draft = { kind: "box", a: snap(p, state.dims), b: null };
    state.drag = { kind: "draw", start, clicked: index };
  }
  $("#canvas").setPointerCapture(event.pointerId);
  event.preventDefault();
}

function onPointerMove(event) {
  if (!state.dims) return;
  const d = state.drag;
  if (!d) {
    if (state.draft && state.draft.kind === "polygon") {
      state.draft.hover = snap(imagePoint(event), state.dims);
      renderDraft();
    }
    return;
  }
  const p = imagePoint(event);
  if (d.kind === "pan") {
    const now = displayPoint(event);
    setView(pan(state.view, viewport(), now.x - d.last.x, now.y - d.last.y));
    d.last = now;
  } else if (d.kind === "draw") {
    state.draft.b = snap(p, state.dims);
    renderDraft();
  } else if (d.kind === "move") {
    const dx = Math.round(p.x - d.from.x);
    const dy = Math.round(p.y - d.from.y);
    state.shapes[state.selected] = moveShape(d.original, dx, dy, state.dims);
    d.moved = dx !== 0 || dy !== 0;
    render();
  } else if (d.kind === "resize") {
    const to = snap(p, state.dims);
    const shape = d.original;
    if (shape.kind === "box") state.shapes[state.selected] = resizeBox(shape, d.handle, to);
    else {
      const points = shape.points.map((q, i) => (`v${i}` === d.handle ? to : q));
      state.shapes[state.selected] = { ...shape, points };
    }
    d.moved = true;
    render();
  }
}

function onPointerUp(event) {
  const d = state.drag;
  state.drag = null;
  if (!d) return;
  if (d.kind === "draw") {
    const draft = state.draft;
    state.draft = null;
    const end = displayPoint(event);
    const big = Math.abs(end.x - d.start.x) >= MIN_BOX_DISPLAY_PX && Math.abs(end.y - d.start.y) >= MIN_BOX_DISPLAY_PX;
    if (draft && draft.b && big) {
      const box = boxFromCorners(draft.a, draft.b);
      if (box.xmax > box.xmin && box.ymax > box.ymin) {
        addShape({ kind: "box", category: currentCategory(), box });
        return;
      }
    }
    select(big ? state.selected : d.clicked, false); // a click selects the shape under it, or nothing
  } else if ((d.kind === "move" || d.kind === "resize") && d.moved) {
    const shapes = state.shapes.map((s) => structuredClone(s));
    const shape = shapes[state.selected];
    if (shape.kind === "box" && (shape.box.xmax === shape.box.xmin || shape.box.ymax === shape.box.ymin)) {
      state.shapes = state.history.current(); // a box cannot shrink to nothing
      render();
      return;
    }
    commit(shapes);
  }
}

function onWheel(event) {
  if (!state.dims) return;
  event.preventDefault();
  const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
  setView(zoomAt(state.view, viewport(), displayPoint(event), factor, state.dims));
}

function zoomCentre(factor) {
  const vp = viewport();
  setView(zoomAt(state.view, vp, { x: vp.width / 2, y: vp.height / 2 }, factor, state.dims));
}

// ---------------------------------------------------------------- loading

async function loadRoles() {
  const [task, roles, categories] = await Promise.all([
    api("GET", taskPath),
    api("GET", `${taskPath}/roles`),
    api("GET", `${taskPath}/config`),
  ]);
  state.task = task;
  state.categories = categories.category_list;
  state.myRoles = roles.results.filter((r) => r.user_id === config.me.id && r.is_active).map((r) => r.role);
  const workerRoles = ["labeler", "reviewer"].filter((r) => state.myRoles.includes(r));
  state.mode = workerRoles.includes(config.role) ? config.role : workerRoles[0] || "viewer";
}

function describeMode() {
  const line = $("#mode-line");
  line.replaceChildren();
  const words = {
    labeler: "You are labeling: pick a category (1–9), drag a box around each object of it, then Submit (s).",
    reviewer: "You are reviewing: check each labeler's shapes, then accept or reject the label.",
    viewer: "You can look at this task's images; you have no labeler or reviewer role in it.",
  };
  line.append(html("p", {}, words[state.mode]));
  if (state.task && state.task.status !== "working") {
    line.append(html("p", { class: "warn" }, `This task is ${state.task.status}: the API accepts labels and reviews only while it is working.`));
  }
  const other = state.mode === "labeler" ? "reviewer" : "labeler";
  if (state.myRoles.includes(other) && state.mode !== "viewer") {
    const link = html("a", { href: `?role=${other}` }, `Switch to ${other === "labeler" ? "labeling" : "reviewing"}`);
    line.append(link);
  }
  $("#labeler-tools").hidden = state.mode !== "labeler";
  $("#reviewer-tools").hidden = state.mode !== "reviewer";
}

async function imageDims(image) {
  const meta = await api("GET", `/datasets/${config.datasetId}/images/${image.image_id}`);
  let { width, height } = meta;
  const href = meta.file_url;
  if (!width || !height) {
    const probe = new Image();
    probe.src = href;
    await probe.decode();
    width = probe.naturalWidth;
    height = probe.naturalHeight;
  }
  return { width, height, href };
}

async function show(image, { remember = true } = {}) {
  const dims = await imageDims(image);
  state.image = image;
  state.dims = { width: dims.width, height: dims.height };
  const photo = $("#photo");
  photo.setAttribute("href", dims.href);
  photo.setAttribute("width", dims.width);
  photo.setAttribute("height", dims.height);
  const mine = state.mode === "labeler" ? image.labels.find((l) => l.user_id === config.me.id) : null;
  state.baseLabelId = mine ? mine.id : "";
  state.sources = mine ? mine.annotations : (state.mode === "labeler" && image.default_labels?.annotations) || [];
  const shapes = state.mode === "labeler" ? state.sources.flatMap((a, i) => shapesFromAnnotation(a, state.dims, i)) : [];
  state.history.reset(shapes);
  state.shapes = state.history.current();
  state.selected = -1;
  state.draft = null;
  state.dirty = false;
  state.skipArmed = false;
  state.conflict = null;
  if (remember) {
    state.visited = state.visited.slice(0, state.position + 1);
    if (state.visited[state.visited.length - 1] !== image.id) state.visited.push(image.id);
    state.position = state.visited.length - 1;
  }
  const url = new URL(window.location);
  url.searchParams.set("image", image.id);
  if (state.mode !== "viewer") url.searchParams.set("role", state.mode);
  history.replaceState(null, "", url);
  document.body.dataset.imageId = image.id;
  setView(fitView(state.dims));
  renderAll();
  const status = myStatus();
  if (state.mode === "labeler" && status === "rejected") {
    banner("A reviewer rejected your label of this image: fix it and submit again.", "warn");
  } else {
    banner("");
  }
}

async function loadImageById(id, options) {
  const image = await api("GET", `${taskPath}/images/${id}`);
  await show(image, options);
}

async function loadNext() {
  if (state.mode === "viewer") {
    banner("Only labelers and reviewers have images waiting for them.", "info");
    return;
  }
  const after = state.image ? state.image.idx : -1;
  const answer = await api("GET", `${taskPath}/next?role=${state.mode}&after=${after}`);
  state.waiting = answer.waiting;
  if (!answer.image) {
    renderTitle();
    const done = state.mode === "labeler" ? "Nothing left to label in this task." : "Nothing waiting for your review in this task.";
    banner(`${done} Well done.`, "success", [["Back to my tasks", () => (window.location.href = "/label/")]]);
    return false;
  }
  await show(answer.image);
  return true;
}

async function guarded(work) {
  if (state.busy) return;
  state.busy = true;
  document.body.classList.add("busy");
  try {
    await work();
  } catch (error) {
    showError(error);
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
  }
}

// ---------------------------------------------------------------- actions

async function submit() {
  if (state.mode !== "labeler" || !state.image) return;
  if (state.draft && state.draft.kind === "polygon" && state.draft.points.length >= 3) closePolygon();
  const annotations = annotationsFromShapes(state.shapes, state.dims, state.sources);
  const body = { annotations, base_label_id: state.baseLabelId };
  try {
    const label = await api("POST", `${taskPath}/images/${state.image.id}/label`, body);
    state.baseLabelId = label.id;
    state.dirty = false;
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      showConflict(error);
      return;
    }
    throw error;
  }
  const idx = state.image.idx;
  banner(`Image ${idx + 1} submitted.`, "success");
  const more = await loadNext();
  if (more) banner(`Image ${idx + 1} submitted. Next one:`, "success");
}

function showConflict(error) {
  state.conflict = error.detail || {};
  banner(
    "Your label of this image was changed elsewhere (another tab or device). Your drawing is kept here.",
    "conflict",
    [
      ["Reload (discard my drawing)", () => guarded(() => loadImageById(state.image.id, { remember: false }))],
      ["Keep my drawing and submit it", () => {
        state.baseLabelId = state.conflict.current_label_id ?? "";
        guarded(submit);
      }],
    ],
  );
}

function reviewTarget() {
  if (!state.image) return null;
  const done = new Set(state.image.reviews.filter((r) => r.user_id === config.me.id).map((r) => r.label_id));
  return state.image.labels.find((l) => !done.has(l.id)) || null;
}

async function review(action) {
  if (state.mode !== "reviewer" || !state.image) return;
  const target = reviewTarget();
  if (!target) {
    banner("You have reviewed every label of this image.", "info");
    return;
  }
  await api("POST", `${taskPath}/images/${state.image.id}/review`, { label_id: target.id, action });
  const idx = state.image.idx;
  const word = action === "accept" ? "accepted" : "rejected";
  const image = await api("GET", `${taskPath}/images/${state.image.id}`);
  state.image = image;
  if (reviewTarget()) {
    renderAll();
    banner(`${target.user_name}'s label ${word}. Next label of this image:`, "success");
    return;
  }
  const more = await loadNext();
  if (more) banner(`Image ${idx + 1}: label ${word}. Next one:`, "success");
}

async function next() {
  if (state.dirty && !state.skipArmed) {
    state.skipArmed = true;
    banner("You have unsaved changes on this image. Press n again to skip it without submitting, or s to submit.", "warn");
    return;
  }
  if (state.position < state.visited.length - 1) {
    state.position += 1;
    await loadImageById(state.visited[state.position], { remember: false });
    return;
  }
  await loadNext();
}

async function previous() {
  if (state.position <= 0) {
    banner("This is the first image you opened here.", "info");
    return;
  }
  if (state.dirty && !state.skipArmed) {
    state.skipArmed = true;
    banner("You have unsaved changes on this image. Press p again to leave it without submitting.", "warn");
    return;
  }
  state.position -= 1;
  await loadImageById(state.visited[state.position], { remember: false });
}

function setTool(tool) {
  state.tool = tool;
  state.draft = null;
  renderTools();
  render();
}

const ACTIONS = {
  prev: () => guarded(previous),
  next: () => guarded(next),
  submit: () => guarded(submit),
  accept: () => guarded(() => review("accept")),
  reject: () => guarded(() => review("reject")),
  undo,
  redo,
  delete: deleteSelected,
  fit: () => setView(fitView(state.dims)),
  "zoom-in": () => zoomCentre(1.25),
  "zoom-out": () => zoomCentre(0.8),
};

// ---------------------------------------------------------------- keyboard

function focusOf(target) {
  if (target === $("#stage")) return "stage";
  if (target.closest && target.closest("#shapes")) return "shape";
  if (target instanceof HTMLButtonElement) return "button";
  return "other";
}

function moveCrosshair(dx, dy, fast) {
  const move = Math.max(1, Math.round((fast ? 20 : 4) / scale()));
  const c = state.crosshair || { x: Math.round(state.dims.width / 2), y: Math.round(state.dims.height / 2) };
  state.crosshair = snap({ x: c.x + dx * move, y: c.y + dy * move }, state.dims);
  if (state.draft && state.draft.kind === "box") state.draft.b = state.crosshair;
  if (state.draft && state.draft.kind === "polygon") state.draft.hover = state.crosshair;
  render();
}

function escape() {
  if (state.draft) state.draft = null;
  else if (state.crosshair) state.crosshair = null;
  else state.selected = -1;
  render();
}

const COMMANDS = {
  undo,
  redo,
  "pan-key": () => (state.spaceDown = true),
  nudge: (c) => nudge(c.dx, c.dy),
  crosshair: (c) => moveCrosshair(c.dx, c.dy, c.fast),
  "close-polygon": closePolygon,
  "show-crosshair": () => moveCrosshair(0, 0, false),
  place: placeAtCrosshair,
  escape,
  category: (c) => pickCategory(c.index),
  tool: (c) => setTool(c.tool),
  action: (c) => ACTIONS[c.action](),
};

function onKeyDown(event) {
  const target = event.target;
  const typing =
    target instanceof HTMLTextAreaElement ||
    (target instanceof HTMLInputElement && !["checkbox", "radio"].includes(target.type));
  if (typing || !state.dims) return;
  const press = { key: event.key, ctrl: event.ctrlKey || event.metaKey, shift: event.shiftKey, alt: event.altKey };
  const context = {
    mode: state.mode,
    focus: focusOf(target),
    selected: state.selected >= 0,
    drafting: state.draft ? state.draft.kind : null,
    crosshair: Boolean(state.crosshair),
  };
  const command = keyCommand(press, context);
  if (!command) return;
  event.preventDefault();
  COMMANDS[command.name](command);
}

// ---------------------------------------------------------------- start

function wire() {
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => ACTIONS[button.dataset.action]());
  });
  document.querySelectorAll("[data-tool]").forEach((button) => {
    button.addEventListener("click", () => setTool(button.dataset.tool));
  });
  const canvas = $("#canvas");
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  canvas.addEventListener("dblclick", () => closePolygon());
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("wheel", onWheel, { passive: false });
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", (event) => {
    if (event.key === " ") state.spaceDown = false;
  });
  $("#show-prelabels").addEventListener("change", render);
  new ResizeObserver(() => state.dims && render()).observe($("#stage"));
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });
}

async function start() {
  wire();
  await guarded(async () => {
    await loadRoles();
    describeMode();
    renderCategories();
    renderTools();
    const wanted = new URL(window.location).searchParams.get("image");
    if (wanted) await loadImageById(wanted);
    else if (state.mode === "viewer") banner("Open an image from the task page.", "info");
    else await loadNext();
    $("#stage").focus({ preventScroll: true });
  });
  document.body.dataset.ready = "true";
}

start();
