"""Typed errors of the datasets app, with DDS error codes (reference §5.2).

The argument errors also subclass ``ValueError`` because DDS's model API raised ``ValueError``
for the same mistakes, so callers written against DDS keep working.
"""

from __future__ import annotations

from dds_site.errors import DDSError, ErrCode, InvalidArgument, NotFound


class DatasetNotFound(NotFound):
    code = ErrCode.DATASET_NOT_FOUND
    message = "Dataset not found."


class DatasetNotReadable(NotFound):
    code = ErrCode.DATASET_NOT_READABLE
    message = "Dataset not readable."


class ImageNotFound(NotFound):
    code = ErrCode.DATASET_IMAGE_NOT_FOUND
    message = "Dataset image not found."


class FnFpDataNotFound(NotFound):
    """The FN/FP analysis has not computed the figures asked for (never run, or cleared by a re-import)."""

    code = 404054
    message = "Dataset has no FN/FP data."


class LabelNotFound(NotFound):
    """No label set of that id in the dataset (DDS did not check that the label belonged to it)."""

    code = 404055
    message = "Dataset label not found."


class InvalidDatasetArgument(InvalidArgument, ValueError):
    """Bad annotation, image or dataset data (400002)."""


class LabelTypeMismatch(InvalidDatasetArgument):
    """An existing label set of that name has another type."""


class LabelSetNameReserved(InvalidDatasetArgument):
    """The names of the ground truth and of the users' annotations cannot be given to another label set."""

    code = 400150
    message = "label set name can't be GroundTruth and UserAnnotation."


class FlagGroupsNotList(DDSError, ValueError):
    code = 400100
    message = "flag_groups must be a list of object."


class FlagMissing(DDSError, ValueError):
    code = 400101
    message = "flag object missing flag."


class FlagInvalid(DDSError, ValueError):
    code = 400102
    message = "flag object flag value invalid, must be one of [0, 1, 2]."


class FlagIdsMissing(DDSError, ValueError):
    code = 400103
    message = "flag object missing ids."


class FlagIdsNotList(DDSError, ValueError):
    code = 400104
    message = "flag object ids must be a list."


class DatasetOccupied(DDSError):
    """The dataset belongs to a label project that is not finished (exported) yet."""

    code = 400207
    message = "dataset is occupied by other label project."


class ExportNotFound(NotFound):
    """No finished export to download: none ran, the last one failed, or its output is gone."""

    code = 404060
    message = "No finished export of this dataset."


class ExportRunning(DDSError):
    """An export of the dataset is running; its output can be downloaded once it is ready."""

    code = 409101
    message = "An export of this dataset is running."


class UploadNotFound(NotFound):
    """No upload of that id belongs to the user (another user's upload is not found either)."""

    code = 404070
    message = "Upload not found."


class UploadOffsetMismatch(DDSError):
    """A chunk does not start where the upload's received bytes end; ``detail.offset`` says where."""

    code = 409110
    message = "The chunk's offset is not the upload's received offset."


class UploadIncomplete(DDSError):
    """The upload cannot be finished or imported before all its bytes arrived."""

    code = 409111
    message = "The upload has not received all its bytes."


class UploadFinished(DDSError):
    """The upload is finished: it takes no more chunks."""

    code = 409112
    message = "The upload is finished."


class UploadChunkInvalid(InvalidArgument):
    """A chunk without a valid offset header, or one that goes past the upload's declared size."""

    code = 400120
    message = "Invalid upload chunk."


class UnsafeArchiveEntry(InvalidArgument):
    """A zip entry that is a link, or whose name is absolute or climbs out (zip-slip), or repeats."""

    code = 400121
    message = "The archive holds an entry that cannot be extracted safely."


class BadArchive(InvalidArgument):
    """Not a readable zip archive (corrupt, encrypted, or not a zip)."""

    code = 400122
    message = "The file is not a readable zip archive."


class UploadContentMissing(InvalidArgument):
    """An import names a file that is not in the upload."""

    code = 400123
    message = "The upload has no such file."


class ArchiveTooLarge(DDSError):
    """A zip that unpacks to more bytes or files than the settings allow (a zip bomb)."""

    code = 413110
    message = "The archive unpacks to more than the server allows."
