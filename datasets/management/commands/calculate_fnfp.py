"""Run the FN/FP analysis of every prediction set of a dataset."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from datasets import tasks
from datasets.management.commands._jobs import progress_bar, run_or_fail


class Command(BaseCommand):
    help = "Compute precision thresholds, per-image FN/FP and COCO mAP for every prediction set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        parser.add_argument("--no-coco-metrics", action="store_true", help="skip COCO mAP / AP50")

    def handle(self, *args, **options) -> None:
        # Two steps per image: its read and its results' write.
        with progress_bar("fn/fp", options["verbosity"], unit="step") as progress:
            outcome = run_or_fail(
                tasks.run_fnfp,
                options["dataset_id"],
                with_coco_metrics=not options["no_coco_metrics"],
                progress=progress,
            )
        self.stdout.write(json.dumps(outcome, default=str))
