"""Import a plain directory of images (no annotations)."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ImportCommand


class Command(ImportCommand):
    help = "Import every image under a directory; sizes are read from the file headers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("root", help="image directory")
        super().add_arguments(parser)

    def build_spec(self, options: dict) -> dict:
        return {"format": "images", "root": options["root"]}
