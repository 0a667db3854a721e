"""Import the dataset a YAML/JSON manifest describes (any format)."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.importers.manifest import load_manifest
from datasets.management.commands._jobs import ImportCommand


class Command(ImportCommand):
    help = "Import a dataset described by a manifest (format: coco | tsv | yolo | images, and its files)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", help="YAML or JSON manifest")
        super().add_arguments(parser)

    def build_spec(self, options: dict) -> dict:
        return load_manifest(options["manifest"])
