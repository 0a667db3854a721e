"""The dataset admin page's per-category charts of each prediction set: PR curves, AP bars and the
confusion matrix as SVG, with category names escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from datasets.fnfp import calculate_fnfp
from datasets.metric_charts import confusion_svg
from datasets.models import DataSet

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _dataset() -> DataSet:
    """cat hit, dog predicted as a category named like a script tag, a false bird, a missed bird, a
    false cat below the threshold (ranked TP FP FP TP FP: precision .5 down to .8); and a second
    prediction set the analysis has not run for yet (added afterwards)."""
    dataset = DataSet.create_dataset("charts")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 10, 10))
    image.batch_add_annotation("dog", bbox=(20, 20, 10, 10))
    image.batch_add_annotation("bird", bbox=(50, 50, 10, 10))
    image.batch_add_annotation(EVIL, bbox=(70, 70, 10, 10))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(0, 0, 10, 10))
    image.batch_add_annotation(EVIL, label="det", label_type="Pred", conf=0.85, bbox=(20, 20, 10, 11))
    image.batch_add_annotation("bird", label="det", label_type="Pred", conf=0.82, bbox=(40, 0, 5, 5))
    image.batch_add_annotation(EVIL, label="det", label_type="Pred", conf=0.8, bbox=(70, 70, 10, 10))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.3, bbox=(80, 0, 5, 5))
    dataset.finish_batch_add_image()
    return dataset


def _svgs(html: str, css_class: str) -> list[ET.Element]:
    """The page's ``<svg class=css_class>`` elements, each parsed as XML (so each is well-formed)."""
    return [ET.fromstring(match) for match in re.findall(rf'<svg class="{css_class}".*?</svg>', html, re.S)]


def test_change_page_shows_the_charts_of_each_prediction_set(admin_client, db):
    dataset = _dataset()
    calculate_fnfp(dataset.id)
    image = dataset.batch_add_image("http://img/2.jpg", width=100, height=100, id_=2)
    image.batch_add_annotation("cat", label="later", label_type="Pred", conf=0.5, bbox=(0, 0, 10, 10))
    dataset.finish_batch_add_image()
    html = admin_client.get(f"/admin/datasets/dataset/{dataset.pk}/change/").content.decode()
    assert "Prediction analysis" in html
    # AP bars: one row per category with ground truth, in name order.
    (bars,) = _svgs(html, "dds-ap-bars")
    rows = [row.find(f"{SVG}title").text for row in bars.iter(f"{SVG}g")]
    assert [title.split(":")[0] for title in rows] == [EVIL, "bird", "cat", "dog"]
    assert rows[2].startswith("cat: AP 1.000, AP50 1.000, 1 GT, 2 predicted")
    # PR curves: one small chart per category with ground truth; cat's is flat at precision 1.
    curves = _svgs(html, "dds-pr")
    assert len(curves) == 4
    cat_curve = next(svg for svg in curves if svg.get("aria-label") == "cat precision-recall curve")
    ys = {point.split(",")[1] for point in cat_curve.find(f"{SVG}polyline").get("points").split()}
    assert len(ys) == 2  # precision 1 along recall 0..1, then the drop to 0 at the end
    # The confusion matrix: 5 x 5 cells (four categories and the background), counts shown.
    (matrix,) = _svgs(html, "dds-confusion")
    cells = list(matrix.iter(f"{SVG}rect"))
    assert len(cells) == 25
    titles = [g.find(f"{SVG}title").text for g in matrix.iter(f"{SVG}g")]
    assert f"predicted {EVIL}, ground truth dog: 1" in titles
    assert "predicted background, ground truth bird: 1" in titles
    assert f"predicted {EVIL}, ground truth {EVIL}: 1" in titles
    assert "predicted bird, ground truth background: 1" in titles
    assert "predicted cat, ground truth background: 0" in titles  # the .3 cat is below the threshold
    assert "confidence ≥ 0.800" in html
    # The set added after the run has none yet.
    assert 'data-label="later"' in html
    assert "dds-not-computed" in html


def test_category_names_are_escaped(admin_client, db):
    dataset = _dataset()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    html = admin_client.get(f"/admin/datasets/dataset/{dataset.pk}/change/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_confusion_svg_escapes_and_ignores_cells_out_of_range():
    svg = confusion_svg(
        {
            "categories": [{"id": "a", "name": '"><b>x</b>'}],
            "cells": [{"predicted": 0, "actual": 0, "count": 3}, {"predicted": 7, "actual": 0, "count": 9}],
        }
    )
    root = ET.fromstring(str(svg))
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "cm-row"] == ['"><b>x</b>', "background"]
    assert "<b>" not in str(svg)
    assert [t.text for t in root.iter(f"{SVG}text") if t.text == "9"] == []


def test_no_prediction_sets_no_charts(admin_client, db):
    dataset = DataSet.create_dataset("plain")
    html = admin_client.get(f"/admin/datasets/dataset/{dataset.pk}/change/").content.decode()
    assert "Prediction analysis" in html
    assert "dds-confusion" not in html
