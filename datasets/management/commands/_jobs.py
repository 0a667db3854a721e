"""Shared plumbing of the import / export / FN-FP commands: options, progress bar, errors."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dds_site.errors import DDSError


def name_path(value: str) -> tuple[str, str]:
    """``NAME=PATH`` option values (prediction sets)."""
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise CommandError(f"expected NAME=PATH, got {value!r}")
    return name, path


class ImportCommand(BaseCommand):
    """Base of the import commands: builds a spec, then runs it inline or queues it.

    The operator on the shell may import from any path the process can read (``confined=False``);
    file names inside the data still cannot lead out of their directories.
    """

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="dataset name (default: the file name)")
        parser.add_argument("--dataset-id", help="import into this dataset (default: md5 of the file path)")
        parser.add_argument("--skip-invalid", action="store_true", help="skip bad records and report how many")
        parser.add_argument(
            "--strict", action="store_true", help="refuse boxes overhanging their image (default: clip and count them)"
        )
        parser.add_argument("--background", action="store_true", help="queue as a Celery task (CELERY_BROKER_URL)")

    @abstractmethod
    def build_spec(self, options: dict) -> dict:
        """The import spec (see ``datasets.tasks``) for the parsed options; each command defines it."""

    def handle(self, *args, **options) -> None:
        from datasets import tasks

        try:
            spec = self.build_spec(options)
            if options.get("name"):
                spec["name"] = options["name"]
            if options.get("dataset_id"):
                spec["dataset_id"] = options["dataset_id"]
            if options.get("strict"):
                spec["strict"] = True
            if options["background"]:
                if not tasks.celery_enabled():
                    raise CommandError("--background needs CELERY_BROKER_URL")
                outcome = tasks.submit_import(spec, skip_invalid=options["skip_invalid"], confined=False)
            else:
                with progress_bar("images", options["verbosity"]) as progress:
                    outcome = tasks.run_import_spec(
                        spec, skip_invalid=options["skip_invalid"], progress=progress, confined=False
                    )
        except DDSError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(outcome, default=str))


class _Bar:
    """A tqdm bar made at the first report, once the total is known, so it starts at ``0/total``."""

    def __init__(self, desc: str, verbosity: int, unit: str) -> None:
        self._desc, self._disable, self._unit = desc, verbosity == 0, unit
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int | None) -> None:
        if self._bar is None:
            self._bar = tqdm(desc=self._desc, unit=self._unit, total=total, disable=self._disable)
        self._bar.total = total
        if total is not None and done >= total:
            self._bar.n = done  # shown once, by close(): updating would print the last line twice
        else:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def progress_bar(desc: str, verbosity: int, *, unit: str = "img") -> Iterator[Callable[[int, int | None], None]]:
    """A ``progress(done, total)`` callback drawing one bar on stderr, closed when the block ends."""
    bar = _Bar(desc, verbosity, unit)
    try:
        yield bar
    finally:
        bar.close()


class ExportCommand(BaseCommand):
    """Base of the export commands: ``dataset_id``, the output, ``--label`` and ``--overwrite``; each command adds
    its own options (``add_format_arguments``) and names those that go into the export spec (``spec_options``).

    The operator may write to any path the process can write, never over an existing output without
    ``--overwrite``.
    """

    format: str
    output_name = "output"
    output_help = "output file"
    label_help = "label set to export (repeatable)"
    spec_options: tuple[str, ...] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id")
        parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
        parser.add_argument(self.output_name, help=self.output_help)
        parser.add_argument("--label", action="append", dest="labels", help=self.label_help)
        self.add_format_arguments(parser)

    @abstractmethod
    def add_format_arguments(self, parser: CommandParser) -> None:
        """The options of this export format."""

    def handle(self, *args, **options) -> None:
        from datasets import tasks

        spec = {
            "format": self.format,
            "output": options[self.output_name],
            "labels": options["labels"],
            **{key: options[key] for key in self.spec_options},
            "overwrite": options["overwrite"],
        }
        outcome = run_or_fail(tasks.run_export, options["dataset_id"], spec, confined=False)
        self.stdout.write(json.dumps(outcome))


def run_or_fail(func, *args, **kwargs):
    """Call a job function, turning its typed errors into ``CommandError``."""
    try:
        return func(*args, **kwargs)
    except DDSError as exc:
        raise CommandError(exc.message) from exc
