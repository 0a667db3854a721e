"""Import a DDS TSV file (its ``<name>.<set>.pred`` sidecars are found automatically)."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ImportCommand, name_path


class Command(ImportCommand):
    help = "Import a DDS TSV file with its prediction sidecars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the .tsv file")
        parser.add_argument(
            "--prediction",
            action="append",
            default=None,
            metavar="NAME=PATH",
            help="prediction files instead of the sidecars found beside the TSV (repeatable)",
        )
        super().add_arguments(parser)

    def build_spec(self, options: dict) -> dict:
        spec = {"format": "tsv", "path": options["path"]}
        if options["prediction"] is not None:
            spec["predictions"] = dict(map(name_path, options["prediction"]))
        return spec
