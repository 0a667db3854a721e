"""The idx windows a keyset page reads, shared by the dataset image and task image lists.

A page after ``cursor`` reads bounded idx ranges of growing width, each starting where the last ended,
then the open rest. The server reads a bounded range whole, so the first window is one page: when no
idx after the cursor is skipped (an unfiltered list, a task whose images are all in the status) the
page costs one page-sized read. Bounded ranges are cheap on every server; an open range with sort and
limit is not on all of them, so it comes last.
"""

from __future__ import annotations

from collections.abc import Iterator

WINDOW_FACTORS = (1, 4, 16, 64)


def idx_windows(cursor: int, width: int) -> Iterator[dict[str, int]]:
    """``{"$gt": a, "$lte": b}`` ranges of ``width`` times each of ``WINDOW_FACTORS`` after ``cursor``,
    then ``{"$gt": b}`` for the rest."""
    lower = cursor
    for factor in WINDOW_FACTORS:
        upper = lower + width * factor
        yield {"$gt": lower, "$lte": upper}
        lower = upper
    yield {"$gt": lower}
