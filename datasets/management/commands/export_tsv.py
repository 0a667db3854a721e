"""Export a dataset to DDS's TSV format with prediction sidecars."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ExportCommand


class Command(ExportCommand):
    help = "Export GT sets (default: all) to a TSV file and prediction sets to <stem>.<set>.pred sidecars."
    format = "tsv"
    output_help = "output .tsv file"
    label_help = "GT label set (repeatable)"
    spec_options = ("predictions",)

    def add_format_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prediction", action="append", dest="predictions", help="prediction set (repeatable)")
