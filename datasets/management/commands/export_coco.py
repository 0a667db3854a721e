"""Export a dataset to COCO: ground truth, or one prediction set as a COCO results list."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from datasets.management.commands._jobs import add_export_arguments, run_export_command


class Command(BaseCommand):
    help = "Export GT label sets (default: all) as COCO JSON, or --results NAME as a COCO results list."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        add_export_arguments(parser)
        parser.add_argument("output", help="output JSON file")
        parser.add_argument("--label", action="append", dest="labels", help="label set to export (repeatable)")
        parser.add_argument("--results", help="export this prediction set as a results list")

    def handle(self, *args, **options) -> None:
        spec = {
            "format": "coco",
            "output": options["output"],
            "labels": options["labels"],
            "results": options["results"],
        }
        self.stdout.write(json.dumps(run_export_command(options["dataset_id"], spec, options)))
