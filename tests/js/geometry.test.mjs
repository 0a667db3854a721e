// Coordinate transforms of the labeling page: display <-> image pixels, zoomed and panned, exact.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  annotationsFromShapes,
  boxFromCorners,
  fitView,
  moveShape,
  pan,
  resizeBox,
  shapesFromAnnotation,
  snap,
  toDisplay,
  toImage,
  viewTransform,
  zoomAt,
} from "../../label_ui/static/label_ui/geometry.mjs";

const BIG = { width: 8000, height: 8000 };
const PHOTO = { width: 640, height: 480 };
const SMALL_SCREEN = { width: 1000, height: 650 }; // the drawing area at 1366x768
const UHD = { width: 3400, height: 1900 }; // the drawing area at 3840x2160

test("fit: an 8000x8000 image is scaled down and centred", () => {
  const { scale, offsetX, offsetY } = viewTransform(fitView(BIG), SMALL_SCREEN);
  assert.equal(scale, 650 / 8000);
  assert.equal(offsetY, 0);
  assert.equal(offsetX, (1000 - 650) / 2);
  assert.deepEqual(toImage({ x: offsetX, y: 0 }, fitView(BIG), SMALL_SCREEN), { x: 0, y: 0 });
  assert.deepEqual(toImage({ x: offsetX + 650, y: 650 }, fitView(BIG), SMALL_SCREEN), { x: 8000, y: 8000 });
});

test("fit: a small image is scaled up on a 4K screen", () => {
  const { scale } = viewTransform(fitView(PHOTO), UHD);
  assert.equal(scale, 1900 / 480);
  const corner = toDisplay({ x: 640, y: 480 }, fitView(PHOTO), UHD);
  assert.ok(Math.abs(corner.y - 1900) < 1e-9);
});

test("display -> image -> display and image -> display -> image agree", () => {
  const views = [
    fitView(BIG),
    zoomAt(fitView(BIG), SMALL_SCREEN, { x: 300, y: 200 }, 7.3, BIG),
    pan(zoomAt(fitView(PHOTO), UHD, { x: 10, y: 1800 }, 3, PHOTO), UHD, -123.5, 77),
  ];
  for (const view of views) {
    for (const viewport of [SMALL_SCREEN, UHD]) {
      for (const p of [{ x: 0, y: 0 }, { x: 17.25, y: 3 }, { x: 999, y: 649 }]) {
        const back = toDisplay(toImage(p, view, viewport), view, viewport);
        assert.ok(Math.abs(back.x - p.x) < 1e-9 && Math.abs(back.y - p.y) < 1e-9, JSON.stringify({ view, p, back }));
      }
    }
  }
});

test("round trip is exact for every stored (whole) image pixel, zoomed and panned", () => {
  let view = zoomAt(fitView(BIG), SMALL_SCREEN, { x: 512, y: 300 }, 5, BIG);
  view = pan(view, SMALL_SCREEN, 41, -17);
  for (let x = 0; x <= 8000; x += 7) {
    const p = { x, y: 8000 - x };
    const there = toDisplay(p, view, SMALL_SCREEN);
    assert.deepEqual(snap(toImage(there, view, SMALL_SCREEN), BIG), p);
  }
});

test("zooming keeps the point under the cursor in place", () => {
  const at = { x: 640, y: 111 };
  const before = toImage(at, fitView(BIG), SMALL_SCREEN);
  const zoomed = zoomAt(fitView(BIG), SMALL_SCREEN, at, 4, BIG);
  const after = toImage(at, zoomed, SMALL_SCREEN);
  assert.ok(Math.abs(after.x - before.x) < 1e-6 && Math.abs(after.y - before.y) < 1e-6);
  assert.ok(Math.abs(viewTransform(zoomed, SMALL_SCREEN).scale / viewTransform(fitView(BIG), SMALL_SCREEN).scale - 4) < 1e-9);
});

test("zoom is bounded", () => {
  let view = fitView(PHOTO);
  for (let i = 0; i < 50; i++) view = zoomAt(view, SMALL_SCREEN, { x: 10, y: 10 }, 2, PHOTO);
  assert.ok(viewTransform(view, SMALL_SCREEN).scale <= 64 + 1e-9);
});

test("panning moves the image with the pointer", () => {
  const view = zoomAt(fitView(PHOTO), SMALL_SCREEN, { x: 500, y: 325 }, 2, PHOTO);
  const p = { x: 100, y: 100 };
  const before = toDisplay(p, view, SMALL_SCREEN);
  const after = toDisplay(p, pan(view, SMALL_SCREEN, 30, -20), SMALL_SCREEN);
  assert.ok(Math.abs(after.x - before.x - 30) < 1e-9 && Math.abs(after.y - before.y + 20) < 1e-9);
});

test("snap rounds to whole pixels inside the image", () => {
  assert.deepEqual(snap({ x: -3, y: 12.5 }, PHOTO), { x: 0, y: 13 });
  assert.deepEqual(snap({ x: 700, y: 479.4 }, PHOTO), { x: 640, y: 479 });
});

test("boxes: corners in any order, resize and move stay inside the image", () => {
  const box = { kind: "box", category: "cat", box: boxFromCorners({ x: 50, y: 40 }, { x: 10, y: 90 }) };
  assert.deepEqual(box.box, { xmin: 10, ymin: 40, xmax: 50, ymax: 90 });
  assert.deepEqual(resizeBox(box, "nw", { x: 60, y: 100 }).box, { xmin: 50, ymin: 90, xmax: 60, ymax: 100 });
  assert.deepEqual(moveShape(box, -100, 1000, PHOTO).box, { xmin: 0, ymin: 430, xmax: 40, ymax: 480 });
  const polygon = { kind: "polygon", category: "cat", points: [{ x: 1, y: 1 }, { x: 5, y: 1 }, { x: 5, y: 9 }] };
  assert.deepEqual(moveShape(polygon, -3, 2, PHOTO).points, [{ x: 0, y: 3 }, { x: 4, y: 3 }, { x: 4, y: 11 }]);
});

test("annotations: a drawn box is stored normalised and comes back as the same pixels", () => {
  for (const image of [PHOTO, BIG, { width: 4999, height: 7 }]) {
    for (let x = 0; x < image.width; x += Math.ceil(image.width / 97)) {
      const shape = { kind: "box", category: "dog", box: { xmin: x, ymin: 0, xmax: image.width, ymax: image.height } };
      const [annotation] = annotationsFromShapes([shape], image);
      const stored = JSON.parse(JSON.stringify(annotation));
      const [loaded] = shapesFromAnnotation(stored, image, 0);
      assert.deepEqual(loaded.box, shape.box);
    }
  }
});

test("annotations: polygons are stored in image pixels", () => {
  const shape = { kind: "polygon", category: "cat", points: [{ x: 10, y: 20 }, { x: 30, y: 20 }, { x: 20, y: 45 }] };
  const [annotation] = annotationsFromShapes([shape], PHOTO);
  assert.deepEqual(annotation, { category_name: "cat", segmentation: "10,20,30,20,20,45" });
  assert.deepEqual(shapesFromAnnotation(annotation, PHOTO, 0)[0].points, shape.points);
});

test("annotations: unchanged stored annotations are sent back exactly, changed ones rebuilt", () => {
  const stored = [
    { category_name: "cat", bounding_box: { xmin: 0.1, ymin: 0.2, xmax: 0.3, ymax: 0.4 }, segmentation: "1.5,2,3,4,5,6", mask: "" },
    { category_name: "dog", bounding_box: { xmin: 0.5, ymin: 0.5, xmax: 0.6, ymax: 0.7 } },
    {
      category_name: "person",
      points: [10, 11, 0, 1, 2, 0.9, 20, 21, 0, 1, 1, 0.5],
      lines: [0, 1],
      point_colors: [1, 2, 3, 4, 5, 6],
      point_names: ["a", "b"],
    },
  ];
  const shapes = stored.flatMap((a, i) => shapesFromAnnotation(a, BIG, i));
  assert.equal(shapes.length, 4);
  assert.deepEqual(annotationsFromShapes(shapes, BIG, stored), stored);
  const changed = shapes.map((s) => (s.category === "dog" ? { ...s, category: "cat" } : s));
  const moved = changed.map((s) => (s.kind === "keypoints" ? moveShape(s, 1, 1, BIG) : s));
  const out = annotationsFromShapes(moved, BIG, stored);
  assert.deepEqual(out[0], stored[0]);
  assert.equal(out[1].category_name, "cat");
  assert.deepEqual(out[2].points, [11, 12, 0, 1, 2, 0.9, 21, 22, 0, 1, 1, 0.5]);
  assert.deepEqual(out[2].point_names, ["a", "b"]);
});
