"""Import a COCO dataset: a GT file, optional COCO results files, optional image root or manifest."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from datasets.importers.manifest import load_manifest
from datasets.management.commands._jobs import ImportCommand, name_path


class Command(ImportCommand):
    help = "Import COCO ground truth (instances/keypoints/captions) and COCO results files as prediction sets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ground_truth", nargs="?", help="COCO ground-truth JSON")
        parser.add_argument(
            "--prediction",
            action="append",
            default=[],
            metavar="NAME=PATH",
            help="a COCO results file as prediction set NAME (repeatable)",
        )
        parser.add_argument("--image-root", help="directory holding the images' file_name")
        parser.add_argument("--manifest", help="YAML/JSON manifest instead of the options above")
        super().add_arguments(parser)

    def build_spec(self, options: dict) -> dict:
        if options["manifest"]:
            spec = load_manifest(options["manifest"])
            spec.setdefault("format", "coco")
            return spec
        if not options["ground_truth"]:
            raise CommandError("give a ground-truth file or --manifest")
        return {
            "format": "coco",
            "ground_truth": options["ground_truth"],
            "image_root": options["image_root"],
            "predictions": [{"name": n, "file": p} for n, p in map(name_path, options["prediction"])],
        }
