"""One background writer: batches written on a thread of its own while the caller prepares the next.

Used by the importer (image batches), the dataset image buffer (``ImageBatch``) and the FN/FP job
(guarded result updates). The write function is bound by the caller to collections it took on its
own thread, so the writer thread opens no database connection of its own.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Batch = TypeVar("Batch")
_STOP = object()


class BackgroundWriter(Generic[Batch]):
    """Calls ``write(batch)`` for each ``put(batch)``, in order, on one thread.

    At most ``depth`` batches wait while one is written, so the caller runs ahead by that much. The
    first error of a write is raised on the caller's thread by the next ``put`` or by ``close``;
    batches put after it are not written. ``close`` waits until every batch is written.
    """

    def __init__(self, write: Callable[[Batch], None], *, name: str, depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            if self.error is None:
                try:
                    self._write(batch)
                except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                    self.error = exc

    def put(self, batch: Batch) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(batch)

    def close(self, *, reraise: bool = True) -> None:
        """Wait for the batches put so far; raise the first write error unless ``reraise`` is False."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if reraise and self.error is not None:
            raise self.error

    def __enter__(self) -> BackgroundWriter[Batch]:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        # An error of the block is the one reported; a write error only when the block succeeded.
        self.close(reraise=exc_type is None)
