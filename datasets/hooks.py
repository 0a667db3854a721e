"""What other apps may hook into: the datasets app's cross-app effects, as Django signals.

The datasets app knows nothing of the apps built on it; they subscribe here (in their
``AppConfig.ready``) to act on a dataset's life cycle.

``dataset_deleting`` is sent with ``dataset_id`` inside the transaction of a cascade delete, before
the dataset's own rows go: a receiver deletes its rows that refer to the dataset (its writes join
the transaction) or refuses the delete by raising a ``DDSError``, which rolls everything back.
``dataset_deleted`` is sent with ``dataset_id`` after the commit: a receiver drops the collections
it keeps per dataset (a collection cannot be dropped inside a transaction). Dropping is idempotent,
so a retry of a delete interrupted between the two finishes the job.
"""

from __future__ import annotations

from django.dispatch import Signal

dataset_deleting = Signal()
dataset_deleted = Signal()
