"""Import a YOLO dataset: images, a class list, label files, optional prediction label directories."""

from __future__ import annotations

from django.core.management.base import CommandParser

from datasets.management.commands._jobs import ImportCommand, name_path


class Command(ImportCommand):
    help = "Import YOLO labels (class cx cy w h [conf], or polygons) for a directory of images."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("images", help="image directory")
        parser.add_argument("--classes", required=True, help="class list, one name per line")
        parser.add_argument("--labels", help="label directory (default: the image directory)")
        parser.add_argument(
            "--prediction",
            action="append",
            default=[],
            metavar="NAME=DIR",
            help="a label directory with confidences as prediction set NAME (repeatable)",
        )
        super().add_arguments(parser)

    def build_spec(self, options: dict) -> dict:
        return {
            "format": "yolo",
            "images": options["images"],
            "classes": options["classes"],
            "labels": options["labels"],
            "predictions": [{"name": n, "file": p} for n, p in map(name_path, options["prediction"])],
        }
