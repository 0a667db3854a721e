"""Per-category AP/AP50/PR curves and the confusion matrix of the FN/FP job: equal to pycocotools'
per-category precision, stored on the label set, cleared by a re-import."""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from datasets.fnfp import calculate_fnfp
from datasets.fnfp.categories import MAX_DETS, CategoryAccumulator, top_per_category
from datasets.fnfp.confusion import ConfusionAccumulator
from datasets.fnfp.matching import match_image
from datasets.images import Image
from datasets.models import Category, DataSet, Label
from datasets.services import category_id_for, label_id_for

CATS = (1, 2, 3, 4, 5)


class _Generated:
    """COCO images, GT and results built up image by image."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.images: list[dict] = []
        self.gts: list[dict] = []
        self.dts: list[dict] = []

    def gt(self, image_id: int, cat: int, box: list[float], crowd: bool = False) -> None:
        self.gts.append(
            {
                "id": len(self.gts) + 1,
                "image_id": image_id,
                "category_id": cat,
                "bbox": box,
                "area": box[2] * box[3],
                "iscrowd": int(crowd),
            }
        )

    def dt(self, image_id: int, cat: int, box: list[float], low: float = 0.0, high: float = 1.0) -> None:
        score = self.rng.uniform(low, high)
        score = round(score, 1) if self.rng.random() < 0.3 else round(score, 6)  # some ties
        self.dts.append(
            {"id": len(self.dts) + 1, "image_id": image_id, "category_id": cat, "bbox": box, "score": score}
        )

    def box(self) -> list[float]:
        rng = self.rng
        return [rng.uniform(0, 150), rng.uniform(0, 60), rng.uniform(5, 50), rng.uniform(5, 40)]

    def image(self, image_id: int) -> None:
        rng = self.rng
        self.images.append({"id": image_id, "width": 200, "height": 100})
        image_gts = []
        for _ in range(rng.randint(0, 5)):
            cat, box = rng.choice((1, 2, 3)), self.box()
            self.gt(image_id, cat, box, crowd=rng.random() < 0.1)
            image_gts.append((cat, box))
        if rng.random() < 0.2:
            self.gt(image_id, 4, self.box(), crowd=True)
        if image_id % 7 == 0:
            return  # ground truth only
        for cat, (x, y, w, h) in image_gts:
            if rng.random() < 0.8:  # a good prediction, sometimes of another category
                j = [rng.uniform(-4, 4), rng.uniform(-4, 4), rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)]
                box = [x + j[0], y + j[1], w * j[2], h * j[3]]
                self.dt(image_id, cat if rng.random() < 0.85 else rng.choice(CATS), box, low=0.3)
        for _ in range(rng.randint(0, 3)):
            self.dt(image_id, rng.choice(CATS), self.box(), high=0.7)

    def crowded_image(self, image_id: int) -> None:
        """130 predictions of category 1 over a few GT boxes."""
        self.images.append({"id": image_id, "width": 200, "height": 100})
        boxes = [self.box() for _ in range(4)]
        for box in boxes:
            self.gt(image_id, 1, box)
        for _ in range(130):
            x, y, w, h = self.rng.choice(boxes)
            self.dt(image_id, 1, [x + self.rng.uniform(-5, 5), y + self.rng.uniform(-5, 5), w, h])


def _generated(seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """COCO images, GT and results: five categories (4 has only crowd GT, 5 only predictions), crowd
    regions, scores with ties, images with GT and no predictions, and one image with more than
    ``MAX_DETS`` predictions of one category."""
    data = _Generated(seed)
    for image_id in range(1, 31):
        data.image(image_id)
    data.crowded_image(31)
    return data.images, data.gts, data.dts


def _cocoeval(images: list[dict], gts: list[dict], dts: list[dict]) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": gts, "categories": [{"id": i} for i in CATS]}
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes([dict(d) for d in dts]), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator


def _xyxy(box: list[float]) -> list[float]:
    return [box[0], box[1], box[0] + box[2], box[1] + box[3]]


def _ours(images, gts, dts) -> dict[str, dict]:
    """Our matching and accumulator over the same data, image by image."""
    accumulator, num_gt = CategoryAccumulator(), {}
    for image in images:
        image_gts = [g for g in gts if g["image_id"] == image["id"]]
        image_dts = [d for d in dts if d["image_id"] == image["id"]]
        for g in image_gts:
            if not g["iscrowd"]:
                num_gt[str(g["category_id"])] = num_gt.get(str(g["category_id"]), 0) + 1
        scores = np.array([d["score"] for d in image_dts], dtype=float)
        match = match_image(
            np.array([_xyxy(g["bbox"]) for g in image_gts]).reshape(-1, 4),
            np.array([g["category_id"] for g in image_gts]),
            np.array([bool(g["iscrowd"]) for g in image_gts], dtype=bool),
            np.array([_xyxy(d["bbox"]) for d in image_dts]).reshape(-1, 4),
            np.array([d["category_id"] for d in image_dts]),
            scores,
            all_thresholds=True,
        )
        accumulator.add(image["id"], [str(d["category_id"]) for d in image_dts], scores, match)
    return {entry["category_id"]: entry for entry in accumulator.result(num_gt)}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_per_category_ap_equals_cocoeval_precision(seed):
    images, gts, dts = _generated(seed)
    evaluator = _cocoeval(images, gts, dts)
    ours = _ours(images, gts, dts)
    assert set(ours) == {str(cat) for cat in CATS}
    for k, cat in enumerate(evaluator.params.catIds):
        # precision[T, R, K, A, M]: area "all", 100 detections.
        precision = evaluator.eval["precision"][:, :, k, 0, -1]
        entry = ours[str(cat)]
        if (precision == -1).all():
            assert (entry["ap"], entry["ap50"], entry["pr_curve"]) == (None, None, None), cat
            continue
        assert entry["ap"] == pytest.approx(precision.mean(), abs=1e-6), cat
        assert entry["ap50"] == pytest.approx(precision[0].mean(), abs=1e-6), cat
        curve = np.round(precision[0], 4)
        assert entry["pr_curve"] == pytest.approx(curve[: len(entry["pr_curve"])].tolist(), abs=1e-9), cat
        assert not curve[len(entry["pr_curve"]) :].any(), cat  # only zeros were left out
    assert ours["4"]["ap"] is None
    assert ours["5"]["ap"] is None
    assert ours["5"]["num_pred"] > 0
    assert ours["4"]["num_gt"] == 0
    assert 0 < ours["1"]["ap"] < ours["1"]["ap50"] <= 1
    # Without the per-image cap of 100 detections, category 1 would differ: the crowded image counts.
    assert sum(1 for d in dts if d["image_id"] == 31) > MAX_DETS


def test_top_per_category_keeps_the_highest_scores_and_the_earlier_of_ties():
    codes = np.array([0] * 4 + [1] * 2)
    scores = np.array([0.1, 0.9, 0.5, 0.5, 0.3, 0.2])
    assert top_per_category(codes, scores, limit=2).tolist() == [False, True, True, False, True, True]
    assert top_per_category(codes, scores, limit=10).all()


def test_confusion_counts_diagonal_confusions_background():
    """One image: cat GT hit (.9), dog GT predicted as cat (.8), a false cat (.7), a missed bird,
    a dog prediction below the threshold, a crowd GT that never counts."""
    gt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60], [70, 70, 90, 90.0]])
    gt_cats = ["cat", "dog", "bird", "cat"]
    gt_crowd = [False, False, False, True]
    dt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 31], [40, 0, 45, 5], [50, 50, 60, 60.0]])
    cats = ["cat", "cat", "cat", "dog"]
    scores = np.array([0.9, 0.8, 0.7, 0.2])
    vocab = {"cat": 0, "dog": 1, "bird": 2}
    match = match_image(
        gt_boxes,
        np.array([vocab[c] for c in gt_cats]),
        np.array(gt_crowd),
        dt_boxes,
        np.array([vocab[c] for c in cats]),
        scores,
        all_thresholds=True,
    )
    accumulator = ConfusionAccumulator(0.5)
    accumulator.add(gt_cats, gt_crowd, cats, scores, match)
    result = accumulator.result(order=["bird", "cat", "dog"])
    assert result["categories"] == ["bird", "cat", "dog"]
    background = 3
    cells = {(cell["predicted"], cell["actual"]): cell["count"] for cell in result["cells"]}
    assert cells == {(1, 1): 1, (1, 2): 1, (1, background): 1, (background, 0): 1}
    # Every prediction counts at threshold 0: the dog prediction sits on the bird GT (another category).
    everything = ConfusionAccumulator(0.0)
    everything.add(gt_cats, gt_crowd, cats, scores, match)
    cells = {(c["predicted"], c["actual"]): c["count"] for c in everything.result(["bird", "cat", "dog"])["cells"]}
    assert cells == {(1, 1): 1, (1, 2): 1, (1, background): 1, (2, 0): 1}


def test_confusion_cross_matching_is_greedy_by_confidence():
    """Two dog predictions over one cat GT: the more confident takes it, the other is background."""
    gt_boxes = np.array([[0, 0, 10, 10.0]])
    dt_boxes = np.array([[0, 0, 10, 9], [0, 0, 10, 10.0]])
    match = match_image(
        gt_boxes,
        np.array([0]),
        np.array([False]),
        dt_boxes,
        np.array([1, 1]),
        np.array([0.6, 0.9]),
        all_thresholds=True,
    )
    accumulator = ConfusionAccumulator(0.0)
    accumulator.add(["cat"], [False], ["dog", "dog"], np.array([0.6, 0.9]), match)
    assert accumulator.counts == {("dog", "cat"): 1, ("dog", None): 1}


# --- the job -----------------------------------------------------------------------------------


def _import_generated(tmp_path, seed: int) -> tuple[DataSet, str, str]:
    from datasets.importers.coco import CocoImporter, PredictionFile
    from datasets.importers.runner import run_import
    from tests.datasets.importing_helpers import write_json

    images, gts, dts = _generated(seed)
    for dt in dts:  # results must lie inside their image to be imported
        x, y, w, h = dt["bbox"]
        x, y = min(max(x, 0), 199), min(max(y, 0), 99)
        dt["bbox"] = [x, y, min(w, 200 - x), min(h, 100 - y)]
    for gt in gts:
        x, y, w, h = gt["bbox"]
        gt["bbox"] = [x, y, min(w, 200 - x), min(h, 100 - y)]
        gt["area"] = gt["bbox"][2] * gt["bbox"][3]
    files = [
        {**image, "file_name": f"{image['id']}.jpg", "coco_url": f"http://img/{image['id']}.jpg"} for image in images
    ]
    categories = [{"id": i, "name": f"c{i}"} for i in CATS]
    gt_path = write_json(tmp_path / "gt.json", {"images": files, "annotations": gts, "categories": categories})
    det_path = write_json(tmp_path / "det.json", dts)
    dataset = DataSet.get_importing_dataset("per-category")
    run_import(dataset, CocoImporter(str(gt_path), predictions=[PredictionFile("det", str(det_path))]))
    return dataset, str(gt_path), str(det_path)


def test_job_stores_cocoeval_per_category_ap_of_the_imported_files(db, tmp_path):
    dataset, gt_path, det_path = _import_generated(tmp_path, 5)
    result = calculate_fnfp(dataset.id)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_path)
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(det_path), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
    label = Label.objects.get(pk=label_id_for(dataset.id, "det"))
    stored = {entry["category_id"]: entry for entry in label.category_metrics["categories"]}
    assert label.category_metrics["recall_points"] == 101
    assert label.category_metrics["max_dets"] == MAX_DETS
    for k, cat in enumerate(evaluator.params.catIds):
        precision = evaluator.eval["precision"][:, :, k, 0, -1]
        entry = stored[category_id_for(dataset.id, f"c{cat}")]
        if (precision == -1).all():
            assert entry["ap"] is None
            continue
        assert entry["ap"] == pytest.approx(precision.mean(), abs=1e-5), cat
        assert entry["ap50"] == pytest.approx(precision[0].mean(), abs=1e-5), cat
    # The mean over categories with ground truth is COCO's mAP, as coco_metrics (pycocotools) says.
    aps = [entry["ap"] for entry in stored.values() if entry["ap"] is not None]
    assert np.mean(aps) == pytest.approx(label.coco_metrics["map"], abs=1e-5)
    # Stored in category-name order.
    names = dict(Category.objects.filter(dataset_id=dataset.id).values_list("pk", "name"))
    listed = [names[entry["category_id"]] for entry in label.category_metrics["categories"]]
    assert listed == sorted(listed)
    assert result.analysis[label.pk]["category_metrics"] == label.category_metrics


def test_job_confusion_matrix_agrees_with_the_fnfp_counters(db, tmp_path):
    """At its threshold (the "50" level), the off-diagonal cells of a predicted category's row add up
    to its FPs there and those of a GT category's column to its FNs, as the images' counters say."""
    dataset, _gt, _det = _import_generated(tmp_path, 6)
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    det = label_id_for(dataset.id, "det")
    label = Label.objects.get(pk=det)
    matrix = label.confusion_matrix
    level = next(entry for entry in label.compare_precisions if entry["precision"] == 0.5)
    assert matrix["conf_threshold"] == level["threshold"]
    assert matrix["precision_level"] == 0.5
    assert matrix["iou_threshold"] == 0.5
    categories = matrix["categories"]
    background = len(categories)
    fp_by_cat: dict[str, int] = {}
    fn_by_cat: dict[str, int] = {}
    for image in Image(dataset.id).find_many({}):
        for cat, levels in (image.num_fp_cat or {}).get(det, {}).items():
            fp_by_cat[cat] = fp_by_cat.get(cat, 0) + levels.get("50", 0)
        for cat, levels in (image.num_fn_cat or {}).get(det, {}).items():
            fn_by_cat[cat] = fn_by_cat.get(cat, 0) + levels.get("50", 0)
    row_errors: dict[str, int] = {}
    column_errors: dict[str, int] = {}
    confused = 0
    for cell in matrix["cells"]:
        pred, actual, count = cell["predicted"], cell["actual"], cell["count"]
        assert count > 0
        if pred == actual:
            continue
        if pred != background:
            row_errors[categories[pred]] = row_errors.get(categories[pred], 0) + count
        if actual != background:
            column_errors[categories[actual]] = column_errors.get(categories[actual], 0) + count
        confused += count if background not in (pred, actual) else 0
    assert row_errors == {cat: n for cat, n in fp_by_cat.items() if n}
    assert column_errors == {cat: n for cat, n in fn_by_cat.items() if n}
    assert confused > 0  # the generated data predicts some boxes with the wrong category


def test_a_set_that_never_reaches_precision_half_counts_every_prediction(db):
    """Ranked FP, FP, TP, FP: precision never reaches .5, so all four predictions count."""
    dataset = DataSet.create_dataset("poor")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(60, 60, 30, 30))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.8, bbox=(60, 0, 30, 30))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.4, bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.3, bbox=(70, 0, 20, 20))
    dataset.finish_batch_add_image()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    matrix = Label.objects.get(pk=label_id_for(dataset.id, "det")).confusion_matrix
    assert matrix["precision_level"] is None
    assert matrix["conf_threshold"] == 0.0
    assert matrix["cells"] == [
        {"predicted": 0, "actual": 0, "count": 1},
        {"predicted": 0, "actual": 1, "count": 3},
    ]


def test_reimport_and_a_run_without_them_clear_the_per_category_metrics(db, tmp_path):
    from django.core.management import call_command

    from tests.datasets.coco_generator import generate_coco

    def import_(folder, seed):
        gt, predictions = generate_coco(num_images=6, seed=seed, prediction_sets=("detA",)).write(folder)
        call_command(
            "import_coco", str(gt), "--dataset-id", "ds", "--prediction", f"detA={predictions['detA']}", verbosity=0
        )

    import_(tmp_path / "one", 3)
    calculate_fnfp("ds", with_coco_metrics=False)
    label = Label.objects.get(pk=label_id_for("ds", "detA"))
    assert label.category_metrics["categories"]
    assert label.confusion_matrix["cells"]
    import_(tmp_path / "two", 8)
    label.refresh_from_db()
    assert label.category_metrics is None
    assert label.confusion_matrix is None

    calculate_fnfp("ds", with_coco_metrics=False)
    label.refresh_from_db()
    assert label.category_metrics is not None
    calculate_fnfp("ds", with_coco_metrics=False, with_category_metrics=False)
    label.refresh_from_db()
    assert label.category_metrics is None
    assert label.confusion_matrix is None
    assert label.compare_precisions  # the FN/FP figures themselves are there
