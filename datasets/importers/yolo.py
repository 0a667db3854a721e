"""YOLO: an image directory, one ``<stem>.txt`` label file per image and a class list.

Label lines are ``class cx cy w h`` (normalised), ``class cx cy w h conf`` for predictions,
or ``class x1 y1 x2 y2 ...`` polygons (YOLO segmentation; ``... conf`` for predictions, an odd
count). Prediction sets are further label directories, each given a name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from datasets.importers.errors import ImportFormatError
from datasets.importers.imagedir import check_listed_file, list_images, readable_images
from datasets.importers.records import (
    CLIPPED_BOXES,
    GROUND_TRUTH,
    AnnotationRecord,
    ImageRecord,
    Problems,
    check_annotation,
)

DATASET_TYPE = "yolo"
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class PredictionDir:
    name: str
    path: str


def read_classes(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            names = [line.strip() for line in handle]
    except FileNotFoundError as exc:
        raise ImportFormatError("class list not found", file=path) from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError("the class list is not UTF-8 text", file=path) from exc
    while names and not names[-1]:
        names.pop()
    for number, name in enumerate(names):
        if not name:
            raise ImportFormatError("empty class name", file=path, record=f"line {number + 1}")
    if len(set(names)) != len(names):
        raise ImportFormatError("duplicate class names", file=path)
    return names


def parse_label_line(
    line: str, classes: list[str], width: int, height: int, *, file: str, record: str, label: str, label_type: str
) -> AnnotationRecord:
    parts = line.split()
    try:
        values = [float(v) for v in parts[1:]]
        class_index = int(parts[0])
    except ValueError as exc:
        raise ImportFormatError("values are not numbers", file=file, record=record, field="values") from exc
    if not 0 <= class_index < len(classes):
        raise ImportFormatError(
            f"class index out of range for {len(classes)} classes", file=file, record=record, field="class"
        )
    if any(v < -_TOLERANCE or v > 1 + _TOLERANCE for v in values[:4] if len(values) in (4, 5)):
        raise ImportFormatError("normalised values must lie in [0, 1]", file=file, record=record, field="bbox")
    conf = 1.0
    polygons = None
    if len(values) in (4, 5):
        cx, cy, w, h = values[:4]
        bbox = ((cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height)
        if len(values) == 5:
            conf = values[4]
    elif len(values) >= 6 and (len(values) % 2 == 0 or label_type == "Pred"):
        if len(values) % 2:
            conf = values.pop()
        xs, ys = [v * width for v in values[0::2]], [v * height for v in values[1::2]]
        polygons = [[c for pair in zip(xs, ys, strict=True) for c in pair]]
        bbox = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    else:
        raise ImportFormatError(
            f"expected 5, 6 or 1 + 2k (k >= 3) values (+ 1 for a prediction's confidence), got {len(parts)}",
            file=file,
            record=record,
            field="values",
        )
    return AnnotationRecord(
        category=classes[class_index], label=label, label_type=label_type, conf=conf, bbox=bbox, polygons=polygons
    )


class YoloImporter:
    """Images of ``images_dir`` with labels from ``labels_dir`` (GT) and prediction label directories."""

    dataset_type = DATASET_TYPE

    def __init__(
        self,
        images_dir: str,
        classes_file: str,
        *,
        labels_dir: str | None = None,
        predictions: list[PredictionDir] | None = None,
        confined: bool = False,
        strict: bool = False,
    ) -> None:
        """``confined``: the import runs for a request, so image and label files found in these
        directories must lie under the data roots (symlinks are followed to check)."""
        self.confined = confined
        self.strict = strict  # refuse boxes overhanging the image instead of clipping them
        self.images_dir = os.path.abspath(images_dir)
        if not os.path.isdir(self.images_dir):
            raise ImportFormatError("image directory not found", file=self.images_dir)
        self.classes_file = os.path.abspath(classes_file)
        self.labels_dir = os.path.abspath(labels_dir) if labels_dir else self.images_dir
        self.predictions = [PredictionDir(p.name, os.path.abspath(p.path)) for p in predictions or []]
        for directory in [self.labels_dir, *(p.path for p in self.predictions)]:
            if not os.path.isdir(directory):
                raise ImportFormatError("label directory not found", file=directory)
        self.total: int | None = None

    @property
    def files(self) -> dict[str, str]:
        files = {"Images": self.images_dir, "GroundTruth": self.labels_dir, "Classes": self.classes_file}
        files.update({f"Pred/{p.name}": p.path for p in self.predictions})
        return files

    def iter_images(self, problems: Problems) -> Iterator[ImageRecord]:
        classes = read_classes(self.classes_file)
        names = list_images(self.images_dir)
        self.total = len(names)
        sources = [(self.labels_dir, GROUND_TRUTH, "GT"), *((p.path, p.name, "Pred") for p in self.predictions)]
        for image in readable_images(self.images_dir, names, confined=self.confined, problems=problems):
            relative, width, height = image.key, image.width, image.height
            for directory, label, label_type in sources:
                label_path = os.path.join(directory, os.path.splitext(relative)[0] + ".txt")
                if not os.path.isfile(label_path):
                    continue
                try:
                    check_listed_file(label_path, confined=self.confined)
                    lines = _label_lines(label_path)
                except ImportFormatError as exc:
                    problems.report(exc)
                    continue
                for number, line in lines:
                    record = f"line {number}"
                    try:
                        ann = parse_label_line(
                            line,
                            classes,
                            width,
                            height,
                            file=label_path,
                            record=record,
                            label=label,
                            label_type=label_type,
                        )
                        if check_annotation(ann, image, file=label_path, record=record, strict=self.strict):
                            problems.warn(CLIPPED_BOXES)
                    except ImportFormatError as exc:
                        problems.report(exc)
                        continue
                    image.annotations.append(ann)
            yield image


def _label_lines(path: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of the non-blank lines of a label file (one small file per image)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [(number, line) for number, line in enumerate(handle, start=1) if line.strip()]
    except UnicodeDecodeError as exc:
        raise ImportFormatError("the label file is not UTF-8 text", file=path) from exc
