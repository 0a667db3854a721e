"""Describe an import as plain data: a spec dict (CLI, API, Celery) or a YAML/JSON manifest file.

Nothing is executed: DDS described COCO datasets with a Python file it imported (§12.3);
here a manifest is parsed with ``yaml.safe_load`` / ``json`` and only its values are used.

Spec keys: ``format`` (coco, tsv, yolo, images), ``name``, ``dataset_id`` (optional) and per format
coco: ``ground_truth``, ``predictions`` [{name, file}], ``image_root``;
tsv: ``path``, ``predictions`` {name: file} (default: the ``.pred`` sidecars);
yolo: ``images``, ``classes``, ``labels``, ``predictions`` [{name, file}]; images: ``root``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import yaml

from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.errors import ImportFormatError
from datasets.importers.imagedir import ImageDirImporter
from datasets.importers.tsv import TsvImporter
from datasets.importers.yolo import PredictionDir, YoloImporter
from dds_site.documents import md5_id
from dds_site.files import resolve_data_path

FORMATS = ("coco", "tsv", "yolo", "images")
_PATH_KEYS = ("ground_truth", "image_root", "path", "images", "classes", "labels", "root")


def load_manifest(path: str) -> dict[str, Any]:
    """Read a YAML or JSON manifest; relative paths are resolved against its directory."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        raise ImportFormatError("manifest not found", file=path) from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError("the manifest is not UTF-8 text", file=path) from exc
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as exc:
        # Parser texts quote the manifest around the error: give only where it is.
        raise ImportFormatError(f"malformed manifest{_where(exc)}", file=path) from exc
    if not isinstance(data, dict):
        raise ImportFormatError("a manifest is a mapping", file=path)
    base = os.path.dirname(os.path.abspath(path))

    def resolve(value: Any) -> Any:
        return os.path.join(base, value) if isinstance(value, str) and value else value

    for key in _PATH_KEYS:
        if key in data:
            data[key] = resolve(data[key])
    predictions = data.get("predictions")
    if isinstance(predictions, list):
        data["predictions"] = [{**p, "file": resolve(p.get("file"))} if isinstance(p, dict) else p for p in predictions]
    elif isinstance(predictions, dict):
        data["predictions"] = {name: resolve(p) for name, p in predictions.items()}
    data.setdefault("manifest", os.path.abspath(path))
    return data


def _where(exc: BaseException) -> str:
    """`` at line L column C`` of a JSON or YAML parse error, if it knows."""
    if isinstance(exc, json.JSONDecodeError):
        return f" at line {exc.lineno} column {exc.colno}"
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""


def confine_spec(spec: dict) -> dict:
    """``spec`` with every file path it names resolved under the data roots (``dds_site.files``).

    For imports asked for by a request: a path outside every root is a 403 (``PathOutsideDataRoots``)
    naming the field, a relative path is relative to the first root.
    """
    confined = dict(spec)
    for key in _PATH_KEYS:
        value = confined.get(key)
        if isinstance(value, str) and value:
            confined[key] = str(resolve_data_path(value, field=key))
    predictions = confined.get("predictions")
    if isinstance(predictions, list):
        confined["predictions"] = [
            {**item, "file": str(resolve_data_path(item["file"], field="predictions"))}
            if isinstance(item, dict) and isinstance(item.get("file"), str) and item["file"]
            else item
            for item in predictions
        ]
    elif isinstance(predictions, dict):
        confined["predictions"] = {
            name: str(resolve_data_path(path, field="predictions")) if isinstance(path, str) and path else path
            for name, path in predictions.items()
        }
    return confined


def _prediction_list(spec: dict) -> list[tuple[str, str]]:
    """``[(name, file)]`` from ``[{name, file}]`` or ``{name: file}``; any other shape is a typed 400."""
    predictions = spec.get("predictions") or []
    if isinstance(predictions, dict):
        pairs = [(name, path, f"predictions[{name!r}]") for name, path in predictions.items()]
    elif isinstance(predictions, list):
        pairs = [
            (item.get("name"), item.get("file"), f"predictions[{index}]")
            if isinstance(item, dict)
            else (None, None, f"predictions[{index}]")
            for index, item in enumerate(predictions)
        ]
    else:
        raise ImportFormatError(
            "predictions must be a list of {name, file} or a {name: file} mapping", field="predictions"
        )
    out = []
    for name, path, record in pairs:
        if not name or not isinstance(path, str) or not path:
            raise ImportFormatError("a prediction set needs a name and a file path", record=record, field="predictions")
        out.append((str(name), path))
    return out


def _require(spec: dict, key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise ImportFormatError(f"{key} is required for a {spec.get('format')} import", field=key)
    return value


def importer_from_spec(spec: dict, *, confined: bool = False):
    """The importer a spec describes; ``strict: true`` refuses boxes overhanging their image.

    ``confined``: the import runs for a request; the spec's paths are resolved under the data roots
    (``confine_spec``) and the importer keeps files it finds through the data under them too.
    """
    if confined:
        spec = confine_spec(spec)
    kind = spec.get("format")
    strict = spec.get("strict", False)  # refuse boxes overhanging their image (clipped by default)
    if not isinstance(strict, bool):
        raise ImportFormatError("strict must be true or false", field="strict")
    if kind == "coco":
        return CocoImporter(
            _require(spec, "ground_truth"),
            predictions=[PredictionFile(name, path) for name, path in _prediction_list(spec)],
            image_root=spec.get("image_root") or None,
            confined=confined,
            strict=strict,
        )
    if kind == "tsv":
        predictions = dict(_prediction_list(spec)) if spec.get("predictions") is not None else None
        return TsvImporter(_require(spec, "path"), predictions=predictions, confined=confined, strict=strict)
    if kind == "yolo":
        return YoloImporter(
            _require(spec, "images"),
            _require(spec, "classes"),
            labels_dir=spec.get("labels") or None,
            predictions=[PredictionDir(name, path) for name, path in _prediction_list(spec)],
            confined=confined,
            strict=strict,
        )
    if kind == "images":
        return ImageDirImporter(_require(spec, "root"), confined=confined)
    raise ImportFormatError(f"unknown format {kind!r}; one of {', '.join(FORMATS)}", field="format")


def default_dataset_id(spec: dict) -> str:
    """DDS's id of a file dataset: md5 of the absolute path of its main file (or manifest)."""
    main = (
        spec.get("manifest") or spec.get("ground_truth") or spec.get("path") or spec.get("images") or spec.get("root")
    )
    return md5_id(os.path.abspath(str(main)))


def default_name(spec: dict) -> str:
    main = (
        spec.get("manifest") or spec.get("ground_truth") or spec.get("path") or spec.get("images") or spec.get("root")
    )
    return os.path.splitext(os.path.basename(os.path.normpath(str(main))))[0]
