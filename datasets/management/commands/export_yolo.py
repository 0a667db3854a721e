"""Export a dataset's objects to YOLO label files (boxes, or polygons with --segments) and a class list."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ExportCommand


class Command(ExportCommand):
    help = "Export GT objects (default: all GT sets) or one prediction set (--prediction) to YOLO labels."
    format = "yolo"
    output_name = "output_dir"
    output_help = "output directory"
    spec_options = ("prediction", "segments")

    def add_format_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prediction", help="export this prediction set, with confidences")
        parser.add_argument(
            "--segments", action="store_true", help="YOLO segmentation labels: polygons (boxes as 4-corner polygons)"
        )
