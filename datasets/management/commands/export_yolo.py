"""Export a dataset's objects to YOLO label files (boxes, or polygons with --segments) and a class list."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from datasets.management.commands._jobs import add_export_arguments, run_export_command


class Command(BaseCommand):
    help = "Export GT objects (default: all GT sets) or one prediction set (--prediction) to YOLO labels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        add_export_arguments(parser)
        parser.add_argument("output_dir")
        parser.add_argument("--label", action="append", dest="labels", help="label set to export (repeatable)")
        parser.add_argument("--prediction", help="export this prediction set, with confidences")
        parser.add_argument(
            "--segments", action="store_true", help="YOLO segmentation labels: polygons (boxes as 4-corner polygons)"
        )

    def handle(self, *args, **options) -> None:
        spec = {
            "format": "yolo",
            "output": options["output_dir"],
            "labels": options["labels"],
            "prediction": options["prediction"],
            "segments": options["segments"],
        }
        self.stdout.write(json.dumps(run_export_command(options["dataset_id"], spec, options)))
