"""``datasets.overlays`` and ``datasets.overlay_svg``: stored annotations to shapes in image pixels, and SVG."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from datasets.fnfp import gt_result_key
from datasets.overlay_svg import svg_overlay
from datasets.overlays import (
    CATEGORY_PALETTE,
    Box,
    MaskImage,
    Polygon,
    Skeleton,
    box_shape,
    category_color,
    fnfp_state,
    image_drawables,
    mask_shape,
    polygon_shapes,
    skeleton_shape,
)


def _rle(height: int, width: int, rows: slice, cols: slice) -> dict:
    pixels = np.zeros((height, width), dtype=np.uint8, order="F")
    pixels[rows, cols] = 1
    encoded = mask_utils.encode(pixels)
    return {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}


def _points(*triples) -> list:
    """Stored keypoints (x, y, z, w, v, conf) from (x, y, v) triples."""
    out = []
    for x, y, visibility in triples:
        out += [x, y, 0.0, 1.0, visibility, 1.0]
    return out


def test_category_color_is_stable_and_spread_over_the_palette():
    colors = [category_color(f"category-{number}") for number in range(300)]
    assert category_color("cat") == category_color("cat")
    assert re.fullmatch(r"#[0-9a-f]{6}", category_color("cat"))
    assert set(colors) == set(CATEGORY_PALETTE)
    assert max(map(colors.count, CATEGORY_PALETTE)) < 2 * len(colors) / len(CATEGORY_PALETTE)


def test_box_is_scaled_from_normalised_to_pixels():
    box = box_shape({"xmin": 0.1, "ymin": 0.25, "xmax": 0.5, "ymax": 0.75}, 200, 80)
    assert box == Box(x=20.0, y=20.0, width=80.0, height=40.0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"xmin": 0.1},
        {"xmin": "a", "ymin": 0, "xmax": 1, "ymax": 1},
        {"xmin": True, "ymin": 0, "xmax": 1, "ymax": 1},
        {"xmin": float("nan"), "ymin": 0, "xmax": 1, "ymax": 1},
        {"xmin": 0, "ymin": 0, "xmax": float("inf"), "ymax": 1},
        [1, 2, 3, 4],
    ],
)
def test_malformed_boxes_are_skipped(value):
    assert box_shape(value, 100, 100) is None


def test_polygons_are_parsed_and_malformed_rings_skipped():
    polygons = polygon_shapes("10,10,40,10,40,30/1,2,3/a,b,c,d,e,f/0,0,5,0,5,5,0,5")
    assert polygons == [
        Polygon(((10.0, 10.0), (40.0, 10.0), (40.0, 30.0))),
        Polygon(((0.0, 0.0), (5.0, 0.0), (5.0, 5.0), (0.0, 5.0))),
    ]


def test_skeleton_draws_labelled_points_and_lines_between_them():
    skeleton = skeleton_shape(
        _points((5, 5, 2), (10, 10, 1), (0, 0, 0)),
        [0, 1, 0, 2, 1, 2],
        ["nose", "left_eye", "right_eye"],
    )
    assert [(p.x, p.y, p.visible, p.name) for p in skeleton.keypoints] == [
        (5.0, 5.0, True, "nose"),
        (10.0, 10.0, False, "left_eye"),
    ]
    assert skeleton.lines == ((0, 1),)  # the unlabelled right eye (v=0) takes no line


def test_skeleton_without_labelled_points_is_none():
    assert skeleton_shape(_points((1, 1, 0)), [0, 0], []) is None
    assert skeleton_shape("nope", [], []) is None


def test_mask_is_decoded_cropped_and_coloured():
    mask = mask_shape(_rle(80, 100, slice(10, 20), slice(30, 50)), "#ff0000")
    assert (mask.x, mask.y, mask.width, mask.height) == (30, 10, 20, 10)
    picture = PILImage.open(io.BytesIO(base64.b64decode(mask.data_uri.split(",", 1)[1])))
    assert picture.size == (20, 10)
    assert picture.getpixel((0, 0))[:3] == (255, 0, 0)
    assert picture.getpixel((0, 0))[3] > 0


def test_large_mask_is_downscaled_but_keeps_its_place():
    mask = mask_shape(_rle(1000, 1200, slice(0, 1000), slice(100, 1100)), "#00ff00", max_side=64)
    assert (mask.x, mask.y, mask.width, mask.height) == (100, 0, 1000, 1000)
    picture = PILImage.open(io.BytesIO(base64.b64decode(mask.data_uri.split(",", 1)[1])))
    assert max(picture.size) == 64


@pytest.mark.parametrize(
    "value",
    [None, "", {}, {"counts": "garbage!!", "size": [10, 10]}, {"counts": "x", "size": [0, 3]}, {"size": [2, 2]}],
)
def test_bad_or_empty_masks_are_skipped(value):
    assert mask_shape(value, "#000000") is None


def test_empty_mask_is_skipped():
    assert mask_shape(_rle(10, 10, slice(0, 0), slice(0, 0)), "#000000") is None


def _image() -> dict:
    return {
        "id": 7,
        "width": 200,
        "height": 100,
        "objects": [
            {
                "label_id": "gt",
                "label_name": "GroundTruth",
                "label_type": "GT",
                "category_id": "c1",
                "category_name": "cat",
                "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5},
                "segmentation": "20,10,100,10,100,50",
                "caption": "a <cat>",
                "compare_result": {gt_result_key("p1", "90"): "FN", gt_result_key("p2", "90"): "OK"},
            },
            {
                "label_id": "p1",
                "label_name": "det",
                "label_type": "Pred",
                "category_id": "c1",
                "category_name": "cat",
                "conf": 0.3,
                "bounding_box": {"xmin": 0.6, "ymin": 0.6, "xmax": 0.7, "ymax": 0.7},
                "compare_result": {"90": "FP"},
            },
            {
                "label_type": "GT",
                "label_id": "gt",
                "category_name": "person",
                "category_id": "c2",
                "points": _points((10, 20, 2), (30, 40, 2)),
                "lines": [0, 1],
                "point_names": ["a", "b"],
                "mask": _rle(100, 200, slice(0, 5), slice(0, 5)),
            },
            "not an object",
        ],
    }


def test_image_drawables_in_stored_order_with_category_colours():
    drawables = image_drawables(_image())
    assert [d.index for d in drawables] == [0, 1, 2]
    first, prediction, person = drawables
    assert first.color == prediction.color == category_color("c1")
    assert person.color == category_color("c2")
    assert [type(shape) for shape in first.shapes] == [Box, Polygon]
    assert first.kinds == ["box", "polygon"]
    assert [type(shape) for shape in person.shapes] == [Skeleton, MaskImage]
    assert prediction.conf == 0.3
    assert first.state == prediction.state == ""


def test_fnfp_state_per_prediction_set_and_level():
    image = _image()
    gt, prediction = image["objects"][0], image["objects"][1]
    assert fnfp_state(gt, "p1", "90") == "FN"
    assert fnfp_state(gt, "p2", "90") == ""
    assert fnfp_state(prediction, "p1", "90") == "FP"
    assert fnfp_state(prediction, "p1", "80") == ""
    assert fnfp_state(prediction, "p2", "90") == ""  # another set's result does not apply
    states = [d.state for d in image_drawables(image, fnfp=("p1", "90"))]
    assert states == ["FN", "FP", ""]


def test_drawables_of_given_objects_use_the_image_size():
    image = _image()
    label = [
        {"label_type": "User", "category_name": "dog", "bounding_box": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}
    ]
    (drawable,) = image_drawables(image, objects=label)
    assert drawable.shapes == (Box(0.0, 0.0, 200.0, 100.0),)
    assert drawable.color == category_color("dog")  # no category id: coloured by name


def test_svg_has_the_image_viewbox_and_pixel_coordinates():
    svg = str(svg_overlay(image_drawables(_image()), 200, 100))
    assert 'viewBox="0 0 200 100"' in svg
    assert '<rect class="ov-box" x="20" y="10" width="80" height="40"/>' in svg
    assert 'points="20,10 100,10 100,50"' in svg
    assert '<line x1="10" y1="20" x2="30" y2="40"/>' in svg
    assert 'class="ov-mask" x="0" y="0" width="5" height="5"' in svg
    assert svg.count('<g class="ov"') == 3


def test_svg_escapes_data_and_marks_hidden_groups():
    image = _image()
    image["objects"][0]["category_name"] = '"><script>alert(1)</script>'
    image["objects"][0]["label_id"] = '"onload="x'
    svg = str(svg_overlay(image_drawables(image), 200, 100, visible=lambda d: d.label_type != "Pred"))
    assert "<script>" not in svg
    assert 'data-label="&quot;onload=&quot;x"' in svg
    assert svg.count('class="ov off"') == 1
    assert 'data-type="Pred" data-conf="0.3"' in svg


def test_svg_of_an_image_without_size_is_empty():
    assert str(svg_overlay(image_drawables({"objects": []}), 0, 0)) == ""
