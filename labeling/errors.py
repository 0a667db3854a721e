"""Errors of the labeling workflow: one named class per DDS code (reference §5.2).

Every class carries its code and DDS's message once. ``LabelProjectError`` and ``LabelTaskError`` are the
seed's bases and keep DDS's constructor ``(code, msg, http_status)``, which finds the message of a known
code; the named classes take ``(message=None, *, detail=None)`` as every ``DDSError`` does. All subclass
``DDSError``, so the API's exception handler turns them into ``{"code", "message", "detail"}`` with the
HTTP status ``code // 1000``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from datasets import errors as dataset_errors
from dds_site.errors import DDSError, NotFound, PermissionDenied


class _LabelingError(DDSError):
    """DDS's ``APIException(code, msg, http_status)`` signature on top of ``DDSError``."""

    # Every labeling code, to the class that defines it (filled as the classes below are defined).
    by_code: ClassVar[dict[int, type[_LabelingError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__ and cls.code in _LabelingError.by_code:
            raise TypeError(f"labeling error code {cls.code} is defined twice")
        if cls.code != DDSError.code:
            _LabelingError.by_code.setdefault(cls.code, cls)

    def __init__(
        self, code: int | None = None, msg: str | None = None, http_status: int | None = None, *, detail: Any = None
    ) -> None:
        if msg is None and code is not None and code in self.by_code:
            msg = self.by_code[code].message
        code = self.code if code is None else code
        super().__init__(msg, code=code, detail=detail, status_code=http_status or code // 1000)

    @property
    def msg(self) -> str:
        return self.message


class LabelProjectError(_LabelingError):
    """An error of a label project (creation, edit, init, QA, export, permissions)."""


class LabelTaskError(_LabelingError):
    """An error of a label task, its roles or its images."""


class _Named:
    """The constructor of the named errors: the class's code, its message unless one is given."""

    code: int

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        # DDS's errors carry their HTTP status (``status_code``), as the seed's constructor sets it.
        DDSError.__init__(self, message, detail=detail, status_code=self.code // 1000)  # type: ignore[arg-type]


# --- partial success of the batch staffing endpoints (HTTP 200, the failures in ``detail``) --------------------


class BatchAssignLeadersPartial(_Named, LabelTaskError):
    code = 200001
    message = "Batch assign leaders partially success."


class BatchAssignWorkersPartial(_Named, LabelTaskError):
    code = 200002
    message = "Batch assign workers partially success."


# --- 400: bad requests of projects and of tasks ---------------------------------------------------------------
# Users, datasets and tasks named in a request are checked by project and task verbs alike, so their errors
# are both kinds.


class LabelUserNotFound(_Named, LabelProjectError, LabelTaskError):
    code = 400200
    message = "user not found for label project."


class LabelUserNotActive(_Named, LabelProjectError, LabelTaskError):
    code = 400201
    message = "user not active for label project."


class LabelDatasetNotFound(_Named, LabelProjectError):
    code = 400202
    message = "dataset not found for label project."


class TaskNotInProject(_Named, LabelProjectError, LabelTaskError):
    code = 400203
    message = "label task not found for label project."


class ManagersEmpty(_Named, LabelProjectError):
    code = 400204
    message = "managers can't be empty when creating label project."


class DatasetsEmpty(_Named, LabelProjectError):
    code = 400205
    message = "datasets can't be empty when creating label project."


class CategoriesEmpty(_Named, LabelProjectError):
    code = 400206
    message = "categories can't be empty when creating label project."


class DatasetOccupied(_Named, LabelProjectError, dataset_errors.DatasetOccupied):
    """400207, defined by the datasets app (which refuses to delete such a dataset); a project error here."""


class ManagersEmptyOnEdit(_Named, LabelProjectError):
    code = 400208
    message = "managers can't be empty when editing label project."


class ProjectNotWaiting(_Named, LabelProjectError):
    code = 400209
    message = "label project must be in status of waiting for init."


class ConfigIncomplete(_Named, LabelProjectError):
    code = 400210
    message = "batch_size, label_times, review_times must be set at the same time."


class ProjectQAActionInvalid(_Named, LabelProjectError):
    code = 400211
    message = "qa action error, must be 'accept' or 'reject'."


class ProjectNotReviewing(_Named, LabelProjectError):
    code = 400212
    message = "label project must be in status of reviewing."


class ProjectNotAccepted(_Named, LabelProjectError):
    code = 400213
    message = "label project must be in status of accepted."


class LeadersEmpty(_Named, LabelTaskError):
    code = 400214
    message = "labeler_leader_id and reviewer_leader_id can not be empty at the same time."


class WorkersEmpty(_Named, LabelTaskError):
    code = 400215
    message = "labeler_ids and reviewer_ids can not be empty at the same time."


class RoleNotTaskLevel(_Named, LabelTaskError):
    code = 400216
    message = "label project role is not task level, so it cannot be bounded to a task."


class ReplaceSameUser(_Named, LabelTaskError):
    code = 400217
    message = "can't replace role with the same user."


class OldUserLacksRole(_Named, LabelTaskError):
    code = 400218
    message = "old user does not have the task role to be replaced."


class NewUserHasRole(_Named, LabelTaskError):
    code = 400219
    message = "new user already have the task role."


# 400220 and 400221 (DDS's transfer of a role to another task or kind) cannot happen here: a replacement
# names one task and one role.


class RestartNotRejected(_Named, LabelTaskError):
    code = 400222
    message = "label task must be in status of rejected."


class TaskQAActionInvalid(_Named, LabelTaskError):
    code = 400223
    message = "qa action error, must be 'accept', 'reject' or 'force_accept'."


class AcceptNotReviewing(_Named, LabelTaskError):
    code = 400224
    message = "label task must be in status of reviewing."


class RejectNotReviewing(_Named, LabelTaskError):
    code = 400225
    message = "label task must be in status of reviewing."


class ForceAcceptNotRejected(_Named, LabelTaskError):
    code = 400226
    message = "label task must be in status of rejected."


class AnnotationMissingFields(_Named, LabelTaskError):
    code = 400227
    message = "label annotation missing fields."


class AnnotationInvalid(_Named, LabelTaskError):
    code = 400228
    message = "label annotation field value invalid."


class LabelTaskNotWorking(_Named, LabelTaskError):
    code = 400229
    message = "label image require task status be working."


class LabelAlreadyAccepted(_Named, LabelTaskError):
    code = 400230
    message = "label image require unfinished reviewing."


class ReviewTaskNotWorking(_Named, LabelTaskError):
    code = 400231
    message = "review image require task status be working."


class ReviewLabelingUnfinished(_Named, LabelTaskError):
    code = 400232
    message = "review image require finished labeling."


class ReviewLabelNotFound(_Named, LabelTaskError):
    code = 400233
    message = "review image target label not found."


class ReviewAlreadyDone(_Named, LabelTaskError):
    code = 400234
    message = "image has already been reviewed."


class LastOwner(_Named, LabelTaskError):
    code = 400235
    message = "can't delete all owners of label project."


class _CountMismatch(_Named, LabelTaskError):
    """A number of role holders other than the project's configuration asks for: says both numbers."""

    def __init__(
        self, message: str | None = None, *, detail: Any = None, expected: int | None = None, given: int | None = None
    ) -> None:
        if message is None and expected is not None and given is not None:
            message = f"{self.message[:-1]}: {expected} expected, {given} given."
            detail = {"expected": expected, "given": given} if detail is None else detail
        super().__init__(message, detail=detail)


class LeaderCount(_CountMismatch):
    code = 400236
    message = "num of task leader mismatches config."


class ReviewNotRequired(_Named, LabelTaskError):
    code = 400237
    message = "task does not require reviewer."


class LabelerCount(_CountMismatch):
    code = 400238
    message = "num of task labeler mismatches config."


class ReviewerCount(_CountMismatch):
    code = 400239
    message = "num of task reviewer mismatches config."


class RoleAlreadyInitialised(_Named, LabelTaskError):
    code = 400240
    message = "can't init roles for task with active roles."


class NotLeaderRole(_Named, LabelTaskError):
    code = 400241
    message = "task role not of leader kind."


class ProjectNotRejected(_Named, LabelProjectError):
    """Ours (DDS has no such state): reopening needs a rejected project."""

    code = 400242
    message = "label project must be in status of rejected."


class ProjectNotInitializing(_Named, LabelProjectError):
    """Ours: resuming an initialisation needs a project a crash left in initializing."""

    code = 400243
    message = "label project must be in status of initializing to resume init."


class SelfReview(_Named, LabelTaskError):
    """Ours: DDS let one user label and review the same task, and so accept his own labels."""

    code = 400244
    message = "a user can't be both labeler and reviewer of one task (see DDS_ALLOW_SELF_REVIEW)."


# --- 403: the caller lacks the role (labeling.rules) ---------------------------------------------------------


class CantViewTask(_Named, LabelTaskError, PermissionDenied):
    code = 403051
    # DDS said "User can't view label project." to callers who may well view the project.
    message = "User can't view this label task: it is not one of theirs."


class CantViewRole(_Named, LabelTaskError, PermissionDenied):
    code = 403052
    message = "User can't view label project role."


class CantCreateProject(_Named, LabelProjectError, PermissionDenied):
    code = 403053
    message = "User can't create label project."


class CantViewProject(_Named, LabelProjectError, PermissionDenied):
    code = 403054
    message = "User can't view label project."


class CantEditProject(_Named, LabelProjectError, PermissionDenied):
    code = 403055
    message = "User can't edit label project."


class CantInitProject(_Named, LabelProjectError, PermissionDenied):
    code = 403056
    message = "User can't init label project."


class CantQAProject(_Named, LabelProjectError, PermissionDenied):
    code = 403057
    message = "User can't QA label project."


class CantExportProject(_Named, LabelProjectError, PermissionDenied):
    code = 403058
    message = "User can't export label project."


class CantAssignLeader(_Named, LabelProjectError, PermissionDenied):
    code = 403059
    message = "User can't assign label task leader."


class CantAssignWorker(_Named, LabelTaskError, PermissionDenied):
    code = 403060
    message = "User can't assign label task worker."


class CantRestartTask(_Named, LabelTaskError, PermissionDenied):
    code = 403061
    message = "User can't restart label task."


class CantQATask(_Named, LabelTaskError, PermissionDenied):
    code = 403062
    message = "User can't QA label task."


class CantLabelImage(_Named, LabelTaskError, PermissionDenied):
    code = 403063
    message = "User can't label task image."


class CantReviewImage(_Named, LabelTaskError, PermissionDenied):
    code = 403064
    message = "User can't review task image."


# --- 404 --------------------------------------------------------------------------------------------------------


class ProjectNotFound(_Named, LabelProjectError, NotFound):
    code = 404150
    message = "Label project not found."


class RoleNotFound(_Named, LabelTaskError, NotFound):
    code = 404151
    message = "Label project role not found."


class TaskNotFound(_Named, LabelTaskError, NotFound):
    code = 404152
    message = "Label project task not found."


class TaskImageNotFound(_Named, LabelTaskError, NotFound):
    code = 404153
    message = "Label task image not found."
