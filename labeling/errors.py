"""Errors of the labeling workflow, with DDS's codes (reference §5.2).

``LabelProjectError`` and ``LabelTaskError`` keep DDS's constructor ``(code, msg, http_status)`` and
subclass our ``DDSError``, so the API's exception handler turns them into ``{"code", "message", "detail"}``.
"""

from __future__ import annotations

from typing import Any

from dds_site.errors import DDSError


class LabelErrCode:
    """Labeling error codes and their DDS messages."""

    BATCH_ASSIGN_LEADERS_PARTIAL = 200001
    BATCH_ASSIGN_WORKERS_PARTIAL = 200002
    USER_NOT_FOUND = 400200
    USER_NOT_ACTIVE = 400201
    DATASET_NOT_FOUND = 400202
    TASK_NOT_IN_PROJECT = 400203
    MANAGERS_EMPTY = 400204
    DATASETS_EMPTY = 400205
    CATEGORIES_EMPTY = 400206
    DATASET_OCCUPIED = 400207
    MANAGERS_EMPTY_ON_EDIT = 400208
    PROJECT_NOT_WAITING = 400209
    CONFIG_INCOMPLETE = 400210
    PROJECT_QA_ACTION = 400211
    PROJECT_NOT_REVIEWING = 400212
    PROJECT_NOT_ACCEPTED = 400213
    LEADERS_EMPTY = 400214
    WORKERS_EMPTY = 400215
    ROLE_NOT_TASK_LEVEL = 400216
    REPLACE_SAME_USER = 400217
    OLD_USER_LACKS_ROLE = 400218
    NEW_USER_HAS_ROLE = 400219
    TRANSFER_OTHER_TASK = 400220
    TRANSFER_OTHER_KIND = 400221
    RESTART_NOT_REJECTED = 400222
    TASK_QA_ACTION = 400223
    ACCEPT_NOT_REVIEWING = 400224
    REJECT_NOT_REVIEWING = 400225
    FORCE_ACCEPT_NOT_REJECTED = 400226
    ANNOTATION_MISSING_FIELDS = 400227
    ANNOTATION_INVALID = 400228
    LABEL_TASK_NOT_WORKING = 400229
    LABEL_ALREADY_ACCEPTED = 400230
    REVIEW_TASK_NOT_WORKING = 400231
    REVIEW_LABELING_UNFINISHED = 400232
    REVIEW_LABEL_NOT_FOUND = 400233
    REVIEW_ALREADY_DONE = 400234
    LAST_OWNER = 400235
    LEADER_COUNT = 400236
    REVIEW_NOT_REQUIRED = 400237
    LABELER_COUNT = 400238
    REVIEWER_COUNT = 400239
    ROLE_ALREADY_INITIALISED = 400240
    NOT_LEADER_ROLE = 400241
    # Ours (DDS has no such state): reopening needs a rejected project.
    PROJECT_NOT_REJECTED = 400242
    PROJECT_NOT_INITIALIZING = 400243
    # Ours: DDS let one user label and review the same task, and so accept his own labels.
    SELF_REVIEW = 400244
    CANT_VIEW_TASK = 403051
    CANT_VIEW_ROLE = 403052
    CANT_CREATE_PROJECT = 403053
    CANT_VIEW_PROJECT = 403054
    CANT_EDIT_PROJECT = 403055
    CANT_INIT_PROJECT = 403056
    CANT_QA_PROJECT = 403057
    CANT_EXPORT_PROJECT = 403058
    CANT_ASSIGN_LEADER = 403059
    CANT_ASSIGN_WORKER = 403060
    CANT_RESTART_TASK = 403061
    CANT_QA_TASK = 403062
    CANT_LABEL_IMAGE = 403063
    CANT_REVIEW_IMAGE = 403064
    PROJECT_NOT_FOUND = 404150
    ROLE_NOT_FOUND = 404151
    TASK_NOT_FOUND = 404152
    TASK_IMAGE_NOT_FOUND = 404153
    CONFLICT = 409000


MESSAGES: dict[int, str] = {
    LabelErrCode.USER_NOT_FOUND: "user not found for label project.",
    LabelErrCode.USER_NOT_ACTIVE: "user not active for label project.",
    LabelErrCode.DATASET_NOT_FOUND: "dataset not found for label project.",
    LabelErrCode.TASK_NOT_IN_PROJECT: "label task not found for label project.",
    LabelErrCode.MANAGERS_EMPTY: "managers can't be empty when creating label project.",
    LabelErrCode.DATASETS_EMPTY: "datasets can't be empty when creating label project.",
    LabelErrCode.CATEGORIES_EMPTY: "categories can't be empty when creating label project.",
    LabelErrCode.DATASET_OCCUPIED: "dataset is occupied by other label project.",
    LabelErrCode.MANAGERS_EMPTY_ON_EDIT: "managers can't be empty when editing label project.",
    LabelErrCode.PROJECT_NOT_WAITING: "label project must be in status of waiting for init.",
    LabelErrCode.CONFIG_INCOMPLETE: "batch_size, label_times, review_times must be set at the same time.",
    LabelErrCode.PROJECT_QA_ACTION: "qa action error, must be 'accept' or 'reject'.",
    LabelErrCode.PROJECT_NOT_REVIEWING: "label project must be in status of reviewing.",
    LabelErrCode.PROJECT_NOT_ACCEPTED: "label project must be in status of accepted.",
    LabelErrCode.LEADERS_EMPTY: "labeler_leader_id and reviewer_leader_id can not be empty at the same time.",
    LabelErrCode.WORKERS_EMPTY: "labeler_ids and reviewer_ids can not be empty at the same time.",
    LabelErrCode.ROLE_NOT_TASK_LEVEL: "label project role is not task level, so it cannot be bounded to a task.",
    LabelErrCode.REPLACE_SAME_USER: "can't replace role with the same user.",
    LabelErrCode.OLD_USER_LACKS_ROLE: "old user does not have the task role to be replaced.",
    LabelErrCode.NEW_USER_HAS_ROLE: "new user already have the task role.",
    LabelErrCode.TRANSFER_OTHER_TASK: "can't transfer role between different task.",
    LabelErrCode.TRANSFER_OTHER_KIND: "can't transfer role to different kind.",
    LabelErrCode.RESTART_NOT_REJECTED: "label task must be in status of rejected.",
    LabelErrCode.TASK_QA_ACTION: "qa action error, must be 'accept', 'reject' or 'force_accept'.",
    LabelErrCode.ACCEPT_NOT_REVIEWING: "label task must be in status of reviewing.",
    LabelErrCode.REJECT_NOT_REVIEWING: "label task must be in status of reviewing.",
    LabelErrCode.FORCE_ACCEPT_NOT_REJECTED: "label task must be in status of rejected.",
    LabelErrCode.ANNOTATION_MISSING_FIELDS: "label annotation missing fields.",
    LabelErrCode.ANNOTATION_INVALID: "label annotation field value invalid.",
    LabelErrCode.LABEL_TASK_NOT_WORKING: "label image require task status be working.",
    LabelErrCode.LABEL_ALREADY_ACCEPTED: "label image require unfinished reviewing.",
    LabelErrCode.REVIEW_TASK_NOT_WORKING: "review image require task status be working.",
    LabelErrCode.REVIEW_LABELING_UNFINISHED: "review image require finished labeling.",
    LabelErrCode.REVIEW_LABEL_NOT_FOUND: "review image target label not found.",
    LabelErrCode.REVIEW_ALREADY_DONE: "image has already been reviewed.",
    LabelErrCode.LAST_OWNER: "can't delete all owners of label project.",
    LabelErrCode.LEADER_COUNT: "num of task leader mismatches config.",
    LabelErrCode.REVIEW_NOT_REQUIRED: "task does not require reviewer.",
    LabelErrCode.LABELER_COUNT: "num of task labeler mismatches config.",
    LabelErrCode.REVIEWER_COUNT: "num of task reviewer mismatches config.",
    LabelErrCode.ROLE_ALREADY_INITIALISED: "can't init roles for task with active roles.",
    LabelErrCode.NOT_LEADER_ROLE: "task role not of leader kind.",
    LabelErrCode.PROJECT_NOT_REJECTED: "label project must be in status of rejected.",
    LabelErrCode.PROJECT_NOT_INITIALIZING: "label project must be in status of initializing to resume init.",
    LabelErrCode.SELF_REVIEW: "a user can't be both labeler and reviewer of one task (see DDS_ALLOW_SELF_REVIEW).",
    LabelErrCode.CANT_VIEW_TASK: "User can't view label project.",
    LabelErrCode.CANT_VIEW_ROLE: "User can't view label project role.",
    LabelErrCode.CANT_CREATE_PROJECT: "User can't create label project.",
    LabelErrCode.CANT_VIEW_PROJECT: "User can't view label project.",
    LabelErrCode.CANT_EDIT_PROJECT: "User can't edit label project.",
    LabelErrCode.CANT_INIT_PROJECT: "User can't init label project.",
    LabelErrCode.CANT_QA_PROJECT: "User can't QA label project.",
    LabelErrCode.CANT_EXPORT_PROJECT: "User can't export label project.",
    LabelErrCode.CANT_ASSIGN_LEADER: "User can't assign label task leader.",
    LabelErrCode.CANT_ASSIGN_WORKER: "User can't assign label task worker.",
    LabelErrCode.CANT_RESTART_TASK: "User can't restart label task.",
    LabelErrCode.CANT_QA_TASK: "User can't QA label task.",
    LabelErrCode.CANT_LABEL_IMAGE: "User can't label task image.",
    LabelErrCode.CANT_REVIEW_IMAGE: "User can't review task image.",
    LabelErrCode.PROJECT_NOT_FOUND: "Label project not found.",
    LabelErrCode.ROLE_NOT_FOUND: "Label project role not found.",
    LabelErrCode.TASK_NOT_FOUND: "Label project task not found.",
    LabelErrCode.TASK_IMAGE_NOT_FOUND: "Label task image not found.",
    LabelErrCode.CONFLICT: "The object was changed by someone else; reload and retry.",
}


class _LabelingError(DDSError):
    """DDS's ``APIException(code, msg, http_status)`` signature on top of ``DDSError``."""

    def __init__(
        self, code: int, msg: str | None = None, http_status: int | None = None, *, detail: Any = None
    ) -> None:
        super().__init__(
            msg or MESSAGES.get(code, "Bad request."),
            code=code,
            detail=detail,
            status_code=http_status or code // 1000,
        )

    @property
    def msg(self) -> str:
        return self.message


class LabelProjectError(_LabelingError):
    """An error of a label project (creation, edit, init, QA, export, permissions)."""


class LabelTaskError(_LabelingError):
    """An error of a label task, its roles or its images."""


def project_error(code: int, msg: str | None = None, *, detail: Any = None) -> LabelProjectError:
    return LabelProjectError(code, msg, detail=detail)


def task_error(code: int, msg: str | None = None, *, detail: Any = None) -> LabelTaskError:
    return LabelTaskError(code, msg, detail=detail)
