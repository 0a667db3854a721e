"""Export a dataset to DDS's TSV format with prediction sidecars."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from datasets.management.commands._jobs import add_export_arguments, run_export_command


class Command(BaseCommand):
    help = "Export GT sets (default: all) to a TSV file and prediction sets to <stem>.<set>.pred sidecars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        add_export_arguments(parser)
        parser.add_argument("output", help="output .tsv file")
        parser.add_argument("--label", action="append", dest="labels", help="GT label set (repeatable)")
        parser.add_argument("--prediction", action="append", dest="predictions", help="prediction set (repeatable)")

    def handle(self, *args, **options) -> None:
        spec = {
            "format": "tsv",
            "output": options["output"],
            "labels": options["labels"],
            "predictions": options["predictions"],
        }
        self.stdout.write(json.dumps(run_export_command(options["dataset_id"], spec, options)))
