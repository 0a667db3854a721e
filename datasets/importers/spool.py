"""An on-disk spool that groups annotations by image with bounded memory.

COCO files keep images and annotations in separate arrays in any order, so pairing them in
one streaming pass would need every annotation in memory. The parser spools both into a
temporary SQLite file (standard library, no server) and reads them back merged by image id.

A spool lives in a temporary directory named after its process. A process killed mid-import
cannot remove it; the next spool opened on the machine removes those of dead processes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from datasets.importers.joined import join_ascending
from dds_site.mongo import pid_alive

_CHUNK = 5000
_PREFIX = "dds-spool-"


def _load(blob: bytes):
    # Only ever reads what this process pickled into its own private temporary file.
    return pickle.loads(blob)  # noqa: S301


def remove_orphaned_spools(root: str | None = None) -> int:
    """Remove the spool directories of processes that are gone; returns how many were removed."""
    removed = 0
    for path in Path(root or tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = path.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                shutil.rmtree(path)
                removed += 1
    return removed


class Spool:
    """``images(id, data)`` and ``anns(image_id, data)`` tables in a temporary file."""

    def __init__(self) -> None:
        remove_orphaned_spools()
        self._dir = tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-")
        self._db = sqlite3.connect(os.path.join(self._dir.name, "spool.sqlite3"))
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -16000;
            CREATE TABLE images (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
            CREATE TABLE anns (image_id INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE carry (key TEXT PRIMARY KEY, data BLOB NOT NULL);
            """
        )
        self._indexed = False

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_image(self, image_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is not None

    def add_image(self, image_id: int, data: Any) -> bool:
        """Store an image; False if the id is already taken."""
        try:
            self._db.execute("INSERT INTO images (id, data) VALUES (?, ?)", (image_id, pickle.dumps(data, 5)))
        except sqlite3.IntegrityError:
            return False
        return True

    def add_annotations(self, rows: Iterable[tuple[int, Any]]) -> None:
        batch: list[tuple[int, bytes]] = []
        for image_id, data in rows:
            batch.append((image_id, pickle.dumps(data, 5)))
            if len(batch) >= _CHUNK:
                self._db.executemany("INSERT INTO anns (image_id, data) VALUES (?, ?)", batch)
                batch = []
        if batch:
            self._db.executemany("INSERT INTO anns (image_id, data) VALUES (?, ?)", batch)

    def iter_images(self) -> Iterator[tuple[int, Any]]:
        """``(image_id, data)`` of every stored image, by id."""
        for image_id, blob in self._db.execute("SELECT id, data FROM images ORDER BY id"):
            yield image_id, _load(blob)

    def count_images(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def merged(self) -> Iterator[tuple[int | None, Any, list[Any]]]:
        """Yield ``(image_id, image_data, [annotation_data, ...])`` by ascending image id.

        Annotations whose image id has no image come out as ``(image_id, None, [...])``.
        """
        if not self._indexed:
            self._db.execute("CREATE INDEX anns_image ON anns (image_id)")
            self._indexed = True
        images = self._db.execute("SELECT id, data FROM images ORDER BY id")
        anns = self._db.cursor().execute("SELECT image_id, data FROM anns ORDER BY image_id, rowid")
        yield from join_ascending(
            ((image_id, _load(blob)) for image_id, blob in images),
            ((image_id, _load(blob)) for image_id, blob in anns),
        )

    # Previous user annotations and flags of a dataset being re-imported, by source key.
    def add_carry(self, key: str, data: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO carry (key, data) VALUES (?, ?)", (key, pickle.dumps(data, 5)))

    def pop_carry(self, key: str) -> Any | None:
        row = self._db.execute("SELECT data FROM carry WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self._db.execute("DELETE FROM carry WHERE key = ?", (key,))
        return _load(row[0])

    def count_carry(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM carry").fetchone()[0]
