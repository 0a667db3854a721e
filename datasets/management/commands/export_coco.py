"""Export a dataset to COCO: ground truth, or one prediction set as a COCO results list."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ExportCommand


class Command(ExportCommand):
    help = "Export GT label sets (default: all) as COCO JSON, or --results NAME as a COCO results list."
    format = "coco"
    output_help = "output JSON file"
    spec_options = ("results",)

    def add_format_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--results", help="export this prediction set as a results list")
