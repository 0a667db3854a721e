"""FN/FP analysis: a hand-computed case, re-runs, edge cases, and the matching against pycocotools."""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from datasets.fnfp import (
    DDS_PROCESSOR_KEY,
    box_iou,
    calculate_fnfp,
    coco_map,
    coco_metrics,
    gt_result_key,
    match_image,
    precision_thresholds,
)
from datasets.images import Image
from datasets.models import DataSet, Label
from datasets.services import category_id_for, label_id_for


def _hand_dataset() -> DataSet:
    """One 100x100 image: GT cat A, cat B, dog C; predictions det: A hit .9, A duplicate .8, dog miss .7, B hit .6."""
    dataset = DataSet.create_dataset("hand")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", bbox=(50, 50, 50, 50))
    image.batch_add_annotation("dog", bbox=(0, 60, 30, 30))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(1, 0, 50, 50))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.8, bbox=(0, 1, 50, 50))
    image.batch_add_annotation("dog", label="det", label_type="Pred", conf=0.7, bbox=(60, 0, 30, 30))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.6, bbox=(50, 51, 50, 49))
    image.batch_add_annotation("cat", label="mine", label_type="User", bbox=(0, 0, 10, 10))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.95)  # no box: skipped
    dataset.finish_batch_add_image()
    return dataset


def test_fnfp_hand_computed_case(db):
    dataset = _hand_dataset()
    result = calculate_fnfp(dataset.id)
    det = label_id_for(dataset.id, "det")
    precisions = {entry["precision"]: entry for entry in Label.objects.get(pk=det).compare_precisions}
    # Order .9 TP, .8 FP, .7 FP, .6 TP: precision 1, 1/2, 1/3, 1/2 -> envelope 1, 1/2, 1/2, 1/2.
    assert set(precisions) == {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1}
    assert precisions[0.9]["threshold"] == pytest.approx(0.9)
    assert precisions[0.9]["recall"] == pytest.approx(1 / 3)
    assert precisions[0.5]["threshold"] == pytest.approx(0.6)
    assert precisions[0.5]["recall"] == pytest.approx(2 / 3)
    image = Image(dataset.id).find_one({"id": 1})
    assert image.num_fp[det] == {"90": 0, "80": 0, "70": 0, "60": 0, "50": 2, "40": 2, "30": 2, "20": 2, "10": 2}
    assert image.num_fn[det]["90"] == 2
    assert image.num_fn[det]["50"] == 1
    cat, dog = category_id_for(dataset.id, "cat"), category_id_for(dataset.id, "dog")
    assert image.num_fp_cat[det][cat] == {key: 1 for key in ("50", "40", "30", "20", "10")}
    assert image.num_fp_cat[det][dog] == {key: 1 for key in ("50", "40", "30", "20", "10")}
    assert image.num_fn_cat[det][dog]["50"] == 1
    assert image.num_fn_cat[det][cat]["90"] == 1
    gt_results = [obj.compare_result for obj in image.objects if obj.label_type == "GT"]
    assert [r[gt_result_key(det, "90")] for r in gt_results] == ["OK", "FN", "FN"]
    assert [r[gt_result_key(det, "50")] for r in gt_results] == ["OK", "OK", "FN"]
    preds = [obj for obj in image.objects if obj.label_type == "Pred" and obj.bounding_box]
    assert [p.compare_result.get("90") for p in preds] == ["OK", None, None, None]
    assert [p.compare_result.get("50") for p in preds] == ["OK", "FP", "FP", "OK"]
    assert image.objects[0].matched_det_idx == 3  # the only prediction set: index of the hit in objects
    assert [obj.compare_result for obj in image.objects if obj.label_type == "User"] == [{}]
    assert result.labels[det]["coco_metrics"]["ap50"] is not None
    stored = DataSet.objects.get(pk=dataset.id)
    assert stored.detail_status[DDS_PROCESSOR_KEY] == "ready"
    assert stored.detail_status["fnfp"]["state"] == "ready"
    assert stored.status == "ready"


def test_fnfp_rerun_is_idempotent(db, monkeypatch):
    from datasets.fnfp import job

    dataset = _hand_dataset()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    first = Image(dataset.id).find_one({"id": 1}).to_dict()
    writes = []
    monkeypatch.setattr(job, "before_results_write", [writes.extend])
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert Image(dataset.id).find_one({"id": 1}).to_dict() == first
    assert writes == []  # nothing changed, nothing written


def test_fnfp_write_failure_on_the_writer_thread_fails_the_job(db, monkeypatch):
    from datasets.fnfp import job

    dataset = _hand_dataset()
    before = Image(dataset.id).find_one({"id": 1}).to_dict()

    def broken(updates):
        raise RuntimeError("server gone")

    monkeypatch.setattr(job, "before_results_write", [broken])  # called on the writer thread
    with pytest.raises(RuntimeError, match="server gone"):
        calculate_fnfp(dataset.id, with_coco_metrics=False)
    stored = DataSet.objects.get(pk=dataset.id)
    assert stored.detail_status[DDS_PROCESSOR_KEY] == "failed"
    assert stored.detail_status["fnfp"]["state"] == "failed"
    assert "server gone" in stored.detail_status["fnfp"]["reason"]
    assert Image(dataset.id).find_one({"id": 1}).to_dict() == before


def test_fnfp_two_prediction_sets_keep_separate_gt_results(db):
    dataset = DataSet.create_dataset("two")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", label="good", label_type="Pred", conf=0.9, bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", label="bad", label_type="Pred", conf=0.9, bbox=(60, 60, 20, 20))
    dataset.finish_batch_add_image()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    good, bad = label_id_for(dataset.id, "good"), label_id_for(dataset.id, "bad")
    gt = Image(dataset.id).find_one({"id": 1}).objects[0]
    assert gt.compare_result[gt_result_key(good, "90")] == "OK"
    assert gt_result_key(bad, "90") not in gt.compare_result  # "bad" never reaches any precision level
    assert Label.objects.get(pk=bad).compare_precisions == []
    assert gt.matched_det_idx is None  # ambiguous with two sets


def test_fnfp_without_ground_truth_does_not_divide_by_zero(db):
    dataset = DataSet.create_dataset("nogt")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(0, 0, 50, 50))
    dataset.finish_batch_add_image()
    result = calculate_fnfp(dataset.id)
    det = label_id_for(dataset.id, "det")
    assert result.labels[det]["compare_precisions"] == []
    assert result.labels[det]["coco_metrics"] == {"map": None, "ap50": None}


def test_precision_thresholds_edge_cases():
    assert precision_thresholds(np.zeros(0), np.zeros(0, bool), np.zeros(0, bool), 0) == []
    levels = precision_thresholds(np.array([0.5]), np.array([True]), np.array([False]), 0)
    assert levels[0] == {"precision": 0.9, "threshold": 0.5, "recall": 0.0}


def test_crowd_regions_ignore_predictions():
    gt = np.array([[0, 0, 1, 1.0]])
    match = match_image(
        gt, np.array([0]), np.array([True]), np.array([[0.1, 0.1, 0.2, 0.2]]), np.array([0]), np.array([0.9])
    )
    assert not match.tp[0]
    assert match.ignored[0]
    assert match.gt_match[0] == -1
    assert box_iou(np.array([[0.1, 0.1, 0.2, 0.2]]), gt, np.array([True]))[0, 0] == pytest.approx(1.0)


def _random_case(seed: int):
    rng = random.Random(seed)
    images, gts, dts = [], [], []
    for image_id in range(1, 41):
        images.append({"id": image_id, "width": 200, "height": 100})
        for _ in range(rng.randint(0, 6)):
            x, y = rng.uniform(0, 150), rng.uniform(0, 60)
            box = [x, y, rng.uniform(5, 50), rng.uniform(5, 40)]
            gts.append(
                {
                    "id": len(gts) + 1,
                    "image_id": image_id,
                    "category_id": rng.randint(1, 3),
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": int(rng.random() < 0.1),
                }
            )
        image_gts = [g for g in gts if g["image_id"] == image_id]
        for _ in range(rng.randint(0, 8)):
            if image_gts and rng.random() < 0.7:
                base = rng.choice(image_gts)
                x, y, w, h = base["bbox"]
                jitter = [rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3)]
                box = [x + jitter[0], y + jitter[1], w * jitter[2], h * jitter[3]]
                cat = base["category_id"] if rng.random() < 0.8 else rng.randint(1, 3)
            else:
                box = [rng.uniform(0, 150), rng.uniform(0, 60), rng.uniform(5, 50), rng.uniform(5, 40)]
                cat = rng.randint(1, 3)
            dts.append(
                {
                    "id": len(dts) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": box,
                    "score": round(rng.random(), 6),
                }
            )
    return images, gts, dts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matching_agrees_with_pycocotools(seed):
    images, gts, dts = _random_case(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gts, "categories": [{"id": i} for i in (1, 2, 3)]}
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(d) for d in dts])
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        evaluator.params.iouThrs = np.array([0.5])
        evaluator.params.maxDets = [100]
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.evaluate()
    coco_tp, coco_ignored = {}, {}
    for entry in evaluator.evalImgs:
        if entry is None:
            continue
        for dt_id, gt_id, ignore in zip(entry["dtIds"], entry["dtMatches"][0], entry["dtIgnore"][0], strict=True):
            coco_tp[dt_id] = bool(gt_id) and not ignore
            coco_ignored[dt_id] = bool(ignore)
    ours_tp, ours_ignored = {}, {}
    checked = 0
    for image in images:
        image_gts = [g for g in gts if g["image_id"] == image["id"]]
        image_dts = [d for d in dts if d["image_id"] == image["id"]]
        xyxy = lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]]  # noqa: E731
        match = match_image(
            np.array([xyxy(g["bbox"]) for g in image_gts]).reshape(-1, 4),
            np.array([g["category_id"] for g in image_gts]),
            np.array([bool(g["iscrowd"]) for g in image_gts], dtype=bool),
            np.array([xyxy(d["bbox"]) for d in image_dts]).reshape(-1, 4),
            np.array([d["category_id"] for d in image_dts]),
            np.array([d["score"] for d in image_dts]),
        )
        for index, dt in enumerate(image_dts):
            ours_tp[dt["id"]] = bool(match.tp[index])
            ours_ignored[dt["id"]] = bool(match.ignored[index])
            checked += 1
    # COCOeval leaves out detections of (image, category) pairs without any GT: all FP for us.
    for dt_id in ours_tp:
        assert ours_tp[dt_id] == coco_tp.get(dt_id, False), dt_id
        assert ours_ignored[dt_id] == coco_ignored.get(dt_id, False), dt_id
    assert checked > 50
    assert any(ours_tp.values())
    assert any(ours_ignored.values())


def test_fnfp_does_not_lose_an_edit_made_while_it_runs(db, monkeypatch):
    from datasets.fnfp import job

    dataset = _hand_dataset()

    def collect_then_someone_edits(dataset_id):
        Image(dataset.id).find_one({"id": 1}).add_annotation("dog", label="late", label_type="User", bbox=(5, 5, 9, 9))

    monkeypatch.setattr(job, "after_collect", [collect_then_someone_edits])
    result = calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert result.retried_images == 1
    image = Image(dataset.id).find_one({"id": 1})
    assert [o.label_name for o in image.objects if o.label_type == "User"] == ["mine", "late"]
    assert image.objects[0].compare_result[gt_result_key(label_id_for(dataset.id, "det"), "90")] == "OK"


@pytest.mark.parametrize("seed", [1, 2])
def test_coco_map_equals_cocoeval_summary(seed):
    images, gts, dts = _random_case(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gts, "categories": [{"id": i} for i in (1, 2, 3)]}
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes([dict(d) for d in dts]), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    ours = coco_map(images, gts, dts)
    assert ours["map"] == pytest.approx(evaluator.stats[0], abs=1e-6)
    assert ours["ap50"] == pytest.approx(evaluator.stats[1], abs=1e-6)
    assert 0 < ours["map"] < ours["ap50"]


def test_fnfp_job_stores_the_cocoeval_summary_of_the_imported_files(db, tmp_path, staff_client):
    """The metrics the job gathers while reading the dataset equal COCOeval on the files imported."""
    from datasets.importers.coco import CocoImporter, PredictionFile
    from datasets.importers.runner import run_import
    from tests.datasets.importing_helpers import write_json

    images, gts, dts = _random_case(3)
    for dt in dts:  # results must lie inside their image to be imported
        x, y, w, h = dt["bbox"]
        x, y = min(max(x, 0), 199), min(max(y, 0), 99)
        dt["bbox"] = [x, y, min(w, 200 - x), min(h, 100 - y)]
    files = [
        {**image, "file_name": f"{image['id']}.jpg", "coco_url": f"http://img/{image['id']}.jpg"} for image in images
    ]
    categories = [{"id": i, "name": f"c{i}"} for i in (1, 2, 3)]
    gt_path = write_json(tmp_path / "gt.json", {"images": files, "annotations": gts, "categories": categories})
    det_path = write_json(tmp_path / "det.json", dts)
    dataset = DataSet.get_importing_dataset("cocoeval")
    run_import(dataset, CocoImporter(str(gt_path), predictions=[PredictionFile("det", str(det_path))]))
    calculate_fnfp(dataset.id)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(det_path)), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stored = Label.objects.get(pk=label_id_for(dataset.id, "det")).coco_metrics
    assert stored["map"] == pytest.approx(evaluator.stats[0], abs=1e-5)
    assert stored["ap50"] == pytest.approx(evaluator.stats[1], abs=1e-5)
    assert stored == coco_metrics(dataset.id, label_id_for(dataset.id, "det"))  # the standalone path agrees
    listed = staff_client.get(f"/api/v1/datasets/{dataset.id}/labels").json()
    assert [label["coco_metrics"] for label in listed["results"] if label["name"] == "det"] == [stored]
