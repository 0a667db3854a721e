// Pure geometry of the labeling page: the view (which part of the image is shown), the transforms
// between display pixels and image pixels, shape <-> annotation conversion, and the undo history.
// No DOM here, so Node's test runner can check it (tests/js/).
//
// A view is {x, y, w, h}: the image-pixel rectangle given to the SVG viewBox. A viewport is
// {width, height}: the SVG element's size in display pixels. The SVG scales the view uniformly to
// fit and centres it (preserveAspectRatio="xMidYMid meet"); these functions use the same rule.

export const MIN_SCALE_FACTOR = 1 / 64; // at most 64 image pixels per display pixel beyond "fit"
export const MAX_ZOOM = 64; // at most 64 display pixels per image pixel

/** Scale (display px per image px) and the offset of the view's origin in the viewport. */
export function viewTransform(view, viewport) {
  const scale = Math.min(viewport.width / view.w, viewport.height / view.h);
  return {
    scale,
    offsetX: (viewport.width - view.w * scale) / 2,
    offsetY: (viewport.height - view.h * scale) / 2,
  };
}

/** A display point (relative to the viewport's top-left) in image pixels. */
export function toImage(point, view, viewport) {
  const { scale, offsetX, offsetY } = viewTransform(view, viewport);
  return { x: view.x + (point.x - offsetX) / scale, y: view.y + (point.y - offsetY) / scale };
}

/** An image point in display pixels (relative to the viewport's top-left). */
export function toDisplay(point, view, viewport) {
  const { scale, offsetX, offsetY } = viewTransform(view, viewport);
  return { x: offsetX + (point.x - view.x) * scale, y: offsetY + (point.y - view.y) * scale };
}

/** Stored coordinates are whole image pixels inside the image. */
export function snap(point, image) {
  const clamp = (v, max) => Math.min(max, Math.max(0, Math.round(v)));
  return { x: clamp(point.x, image.width), y: clamp(point.y, image.height) };
}

/** The view showing the whole image. */
export function fitView(image) {
  return { x: 0, y: 0, w: image.width, h: image.height };
}

/** Zoom by `factor` (>1 = closer) keeping the image point under the display point `at` in place. */
export function zoomAt(view, viewport, at, factor, image) {
  const { scale } = viewTransform(view, viewport);
  const fitScale = viewTransform(fitView(image), viewport).scale;
  const target = Math.min(MAX_ZOOM, Math.max(fitScale * MIN_SCALE_FACTOR, scale * factor));
  const ratio = scale / target;
  const anchor = toImage(at, view, viewport);
  return {
    x: anchor.x - (anchor.x - view.x) * ratio,
    y: anchor.y - (anchor.y - view.y) * ratio,
    w: view.w * ratio,
    h: view.h * ratio,
  };
}

/** Move the view by a drag of (dx, dy) display pixels: the image follows the pointer. */
export function pan(view, viewport, dx, dy) {
  const { scale } = viewTransform(view, viewport);
  return { ...view, x: view.x - dx / scale, y: view.y - dy / scale };
}

/** Rectangle from two corners in any order. */
export function boxFromCorners(a, b) {
  return { xmin: Math.min(a.x, b.x), ymin: Math.min(a.y, b.y), xmax: Math.max(a.x, b.x), ymax: Math.max(a.y, b.y) };
}

/** Move every point of a shape by (dx, dy) image pixels, kept inside the image. */
export function moveShape(shape, dx, dy, image) {
  if (shape.kind === "box") {
    const b = shape.box;
    const ddx = Math.min(image.width - b.xmax, Math.max(-b.xmin, dx));
    const ddy = Math.min(image.height - b.ymax, Math.max(-b.ymin, dy));
    return { ...shape, box: { xmin: b.xmin + ddx, ymin: b.ymin + ddy, xmax: b.xmax + ddx, ymax: b.ymax + ddy } };
  }
  const xs = shape.points.map((p) => p.x);
  const ys = shape.points.map((p) => p.y);
  const ddx = Math.min(image.width - Math.max(...xs), Math.max(-Math.min(...xs), dx));
  const ddy = Math.min(image.height - Math.max(...ys), Math.max(-Math.min(...ys), dy));
  return { ...shape, points: shape.points.map((p) => ({ x: p.x + ddx, y: p.y + ddy })) };
}

/** A box with one corner handle ("nw", "ne", "sw", "se") dragged to `to`. */
export function resizeBox(shape, handle, to) {
  const b = shape.box;
  const fixed = {
    nw: { x: b.xmax, y: b.ymax },
    ne: { x: b.xmin, y: b.ymax },
    sw: { x: b.xmax, y: b.ymin },
    se: { x: b.xmin, y: b.ymin },
  }[handle];
  return { ...shape, box: boxFromCorners(fixed, to) };
}

function samePoint(a, b) {
  return a.x === b.x && a.y === b.y;
}

// Boxes are stored normalised to [0, 1] (DDS's convention); pixels are recovered by multiplying
// back. A stored value that is a whole pixel comes back as that exact integer.
function toPixel(norm, size) {
  const px = norm * size;
  const whole = Math.round(px);
  return Math.abs(px - whole) < 1e-6 ? whole : px;
}

/** Parse a DDS segmentation string "x,y,x,y,.../x,y,..." into polygons of image points. */
export function parseSegmentation(text) {
  if (!text) return [];
  return text.split("/").map((polygon) => {
    const n = polygon.split(",").map(Number);
    const points = [];
    for (let i = 0; i + 1 < n.length; i += 2) points.push({ x: n[i], y: n[i + 1] });
    return points;
  });
}

/**
 * Shapes of one stored annotation: a box and/or one shape per polygon. Each keeps the annotation it
 * came from, so that an unchanged annotation is submitted back exactly as it was stored.
 */
export function shapesFromAnnotation(annotation, image, origin) {
  const shapes = [];
  const category = annotation.category_name;
  const box = annotation.bounding_box;
  if (box && Object.keys(box).length === 4) {
    shapes.push({
      kind: "box",
      category,
      origin,
      box: {
        xmin: toPixel(box.xmin, image.width),
        ymin: toPixel(box.ymin, image.height),
        xmax: toPixel(box.xmax, image.width),
        ymax: toPixel(box.ymax, image.height),
      },
    });
  }
  for (const points of parseSegmentation(annotation.segmentation)) {
    shapes.push({ kind: "polygon", category, origin, points });
  }
  if (annotation.points && annotation.points.length) {
    const keypoints = [];
    for (let i = 0; i + 1 < annotation.points.length; i += 6) {
      keypoints.push({ x: annotation.points[i], y: annotation.points[i + 1] });
    }
    shapes.push({ kind: "keypoints", category, origin, points: keypoints });
  }
  return shapes;
}

/** One annotation per shape for the label API (boxes normalised, polygons in image pixels). */
export function annotationFromShape(shape, image, sources = []) {
  if (shape.kind === "box") {
    const b = shape.box;
    return {
      category_name: shape.category,
      bounding_box: { xmin: b.xmin / image.width, ymin: b.ymin / image.height, xmax: b.xmax / image.width, ymax: b.ymax / image.height },
    };
  }
  if (shape.kind === "polygon") {
    return { category_name: shape.category, segmentation: shape.points.map((p) => `${p.x},${p.y}`).join(",") };
  }
  // Keypoints keep the rest of their stored annotation (visibility, confidence, skeleton, names).
  const source = sources[shape.origin];
  if (!source) return null;
  const points = [...source.points];
  shape.points.forEach((p, i) => {
    points[i * 6] = p.x;
    points[i * 6 + 1] = p.y;
  });
  const keep = { lines: source.lines, point_colors: source.point_colors, point_names: source.point_names };
  return { category_name: shape.category, points, ...keep };
}

/**
 * The annotations to submit. `sources` are the stored annotations the shapes were loaded from (a
 * shape's `origin` is its index there): an annotation whose shapes are all still there, unchanged,
 * is sent back exactly as stored; every other shape becomes an annotation of its own.
 */
export function annotationsFromShapes(shapes, image, sources = []) {
  const result = [];
  const kept = new Set();
  const byOrigin = new Map();
  shapes.forEach((shape, i) => {
    if (shape.origin === undefined || shape.origin === null) return;
    if (!byOrigin.has(shape.origin)) byOrigin.set(shape.origin, []);
    byOrigin.get(shape.origin).push(i);
  });
  for (const [origin, indexes] of byOrigin) {
    const annotation = sources[origin];
    if (!annotation) continue;
    const fresh = shapesFromAnnotation(annotation, image, origin);
    const own = indexes.map((i) => shapes[i]);
    if (fresh.length === own.length && fresh.every((s, i) => sameShape(s, own[i]))) {
      result.push(annotation);
      indexes.forEach((i) => kept.add(i));
    }
  }
  shapes.forEach((shape, i) => {
    if (kept.has(i)) return;
    const annotation = annotationFromShape(shape, image, sources);
    if (annotation) result.push(annotation);
  });
  return result;
}

export function sameShape(a, b) {
  if (a.kind !== b.kind || a.category !== b.category) return false;
  if (a.kind === "box") {
    return ["xmin", "ymin", "xmax", "ymax"].every((k) => a.box[k] === b.box[k]);
  }
  return a.points.length === b.points.length && a.points.every((p, i) => samePoint(p, b.points[i]));
}

/** Undo/redo over snapshots of the shape list (each snapshot is a deep copy). */
export class History {
  constructor(initial, limit = 200) {
    this.limit = limit;
    this.reset(initial);
  }

  reset(initial) {
    this.past = [];
    this.future = [];
    this.present = structuredClone(initial);
  }

  /** Record a new state; the redo branch is dropped. */
  push(state) {
    this.past.push(this.present);
    if (this.past.length > this.limit) this.past.shift();
    this.present = structuredClone(state);
    this.future = [];
    return this.current();
  }

  canUndo() {
    return this.past.length > 0;
  }

  canRedo() {
    return this.future.length > 0;
  }

  undo() {
    if (!this.canUndo()) return this.current();
    this.future.push(this.present);
    this.present = this.past.pop();
    return this.current();
  }

  redo() {
    if (!this.canRedo()) return this.current();
    this.past.push(this.present);
    this.present = this.future.pop();
    return this.current();
  }

  /** A copy of the current state (callers may change it freely). */
  current() {
    return structuredClone(this.present);
  }
}
