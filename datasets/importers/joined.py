"""Join images with their annotations when both come by ascending image id.

The spool (``datasets.importers.spool``) reads its tables back in that order; a COCO file whose
arrays are already in that order (most tools write them so) is joined straight from the file,
so its first images are written while the rest of the file is still being read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any

_image_id_of = itemgetter(0)


def join_ascending(
    images: Iterable[tuple[int, Any]], annotations: Iterable[tuple[int, Any]]
) -> Iterator[tuple[int, Any | None, list[Any]]]:
    """Yield ``(image_id, image, [annotation, ...])`` by ascending image id.

    ``images`` yields ``(image_id, image)`` with ascending, unique ids; ``annotations`` yields
    ``(image_id, annotation)`` with ascending (repeated) ids. Annotations whose image id has no
    image come out as ``(image_id, None, [...])``, in order.
    """
    groups = itertools.groupby(annotations, key=_image_id_of)
    pending = next(groups, None)
    for image_id, image in images:
        while pending is not None and pending[0] < image_id:
            yield pending[0], None, [annotation for _, annotation in pending[1]]
            pending = next(groups, None)
        group = []
        if pending is not None and pending[0] == image_id:
            group = [annotation for _, annotation in pending[1]]
            pending = next(groups, None)
        yield image_id, image, group
    while pending is not None:
        yield pending[0], None, [annotation for _, annotation in pending[1]]
        pending = next(groups, None)
