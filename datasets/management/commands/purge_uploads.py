"""Delete unfinished uploads left idle longer than ``DDS_UPLOAD_EXPIRE_S`` (run it periodically)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from datasets import uploads


class Command(BaseCommand):
    help = "Delete the unfinished uploads idle for longer than DDS_UPLOAD_EXPIRE_S (or --older-than seconds)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=float, help="seconds idle (default: DDS_UPLOAD_EXPIRE_S)")

    def handle(self, *args, **options) -> None:
        purged = uploads.purge_expired(options["older_than"])
        self.stdout.write(json.dumps({"purged": purged}))
