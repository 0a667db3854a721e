"""Bad input never gives a 500: schema-driven fuzzing of every REST operation.

Schemathesis turns the OpenAPI schema at ``/api/v1/schema/`` into Hypothesis strategies, valid and
invalid (negative) requests alike. They are sent to the in-process WSGI app with a staff user's
token and with a plain worker's token, against seeded data so that ids in paths can exist. Every
response must be below 500, and every 4xx body the DDS envelope with ``code // 1000 == status``.
Every other response must be documented: its status code, its media type and its body (schemathesis'
conformance checks), and its JSON body may hold no key the schema does not document.
Besides schemathesis's own negative cases, one request in four gets an integer beyond int64.
About 2 x 20 examples per operation: a run takes a few minutes (a slow test). The default run checks every
list's answer against the schema in ``tests/test_api_output_schema.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from accounts.models import User
from datasets.models import DataSet
from labeling import services as labeling_services
from labeling.models import LabelProject, LabelTask
from labeling.task_images import LabelTaskImage
from labeling.workflow import Role
from tests.conftest import _wipe_database
from tests.datasets.helpers import add_images
from tests.openapi_strict import json_body_validator

BOX = [{"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}]
OVERSIZED = (2**63, -(2**63) - 1, 2**70)
EXAMPLES_PER_MODE = 20


def _seed() -> dict[str, str]:
    """Staff, a worker (labeler), a dataset with images in an initialised, staffed project with one label,
    a project waiting for init, and a free dataset: ids that paths and bodies can point at."""
    staff = User.objects.create_user("fuzz_staff", "fuzz-staff-pw-1", is_staff=True)
    worker = User.objects.create_user("fuzz_worker", "fuzz-worker-pw-1")
    dataset = DataSet.create_dataset("fuzz_cats", description="fuzzed")
    add_images(dataset, 4)
    project = LabelProject.create_project(
        name="fuzz project", owner=staff, datasets=[dataset], managers=[staff], categories=["cat", "dog"]
    )
    project.init_project(batch_size=4, label_times=1, review_times=1)
    task = LabelTask.objects.filter(project_id=project.pk).first()
    labeling_services.task_set_leader(task=task, user=staff, role=Role.LABEL_LEADER, actor=None)
    labeling_services.task_set_leader(task=task, user=staff, role=Role.REVIEW_LEADER, actor=None)
    labeling_services.task_init_workers(task=task, users=[worker], role=Role.LABELER, actor=None)
    labeling_services.task_init_workers(task=task, users=[staff], role=Role.REVIEWER, actor=None)
    image = next(iter(LabelTaskImage(task.dataset_id).find_many({"task_id": task.pk}, sort=[("idx", 1)])))
    label = labeling_services.task_image_label(task=task, image_id=image.id, labeler=worker, annotations=BOX)
    spare = DataSet.create_dataset("fuzz_dogs")
    add_images(spare, 2)
    waiting = LabelProject.create_project(
        name="fuzz waiting", owner=staff, datasets=[spare], managers=[staff], categories=["cat"]
    )
    free = DataSet.create_dataset("fuzz_birds")
    add_images(free, 1)
    return {
        "free_dataset_id": free.pk,
        "waiting_project_id": waiting.pk,
        "label_id": label["id"],
        "staff_id": staff.pk,
        "worker_id": worker.pk,
        "dataset_id": dataset.pk,
        "project_id": project.pk,
        "task_id": task.pk,
        "task_image_id": str(image.id),
        "image_id": "0",
    }


def _real_path_parameters(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Seeded ids for the path parameters of ``path`` (``{id}`` means the last resource named)."""
    values = {
        "dataset_id": ids["dataset_id"],
        "image_id": ids["image_id"],
        "project_pk": ids["project_id"],
        "task_pk": ids["task_id"],
    }
    if path.startswith("/api/v1/users/"):
        values["id"] = ids["worker_id"]
    elif path.startswith("/api/v1/datasets/{dataset_id}/images/"):
        values["id"] = ids["image_id"]
    elif path.startswith("/api/v1/datasets/"):
        values["id"] = ids["dataset_id"]
    elif "/images/{id}" in path:
        values["id"] = ids["task_image_id"]
    elif "/tasks/{id}" in path:
        values["id"] = ids["task_id"]
    elif path == "/api/v1/label-projects/{id}/init":
        values["id"] = ids["waiting_project_id"]
    elif path.startswith("/api/v1/label-projects/"):
        values["id"] = ids["project_id"]
    return values


def _real_body_ids(ids: dict[str, str]) -> dict[str, object]:
    """Seeded values for the id fields of request bodies, so that requests get past "not found"."""
    return {
        "dataset_ids": [ids["free_dataset_id"]],
        "categories": ["cat", "dog"],
        "manager_ids": [ids["staff_id"]],
        "labeler_ids": [ids["worker_id"]],
        "reviewer_ids": [ids["staff_id"]],
        "task_ids": [ids["task_id"]],
        "label_leader_id": ids["staff_id"],
        "review_leader_id": ids["staff_id"],
        "old_worker_id": ids["worker_id"],
        "new_worker_id": ids["staff_id"],
        "label_id": ids["label_id"],
        "annotations": BOX,
    }


def _oversize_a_number(case, data) -> None:
    """Put a number beyond MongoDB's int64 into one integer of the query or body (a classic 500)."""
    for part in ("query", "body"):
        values = getattr(case, part)
        if not isinstance(values, dict):
            continue
        keys = sorted(key for key, value in values.items() if isinstance(value, int) and not isinstance(value, bool))
        if keys:
            key = data.draw(st.sampled_from(keys), label=f"oversized {part} number")
            setattr(case, part, {**values, key: data.draw(st.sampled_from(OVERSIZED), label="value")})


CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def _check(case, response, label: str) -> None:
    status = response.status_code
    body = response.text
    assert status < 500, f"{label} -> {status}: {body[:2000]}"
    if status < 400:
        _conforms(case, response, label)
        return
    try:
        data = json.loads(body)
    except ValueError:
        raise AssertionError(f"{label} -> {status} with a non-JSON body: {body[:500]}") from None
    assert isinstance(data, dict), f"{label} -> {status}: {data!r}"
    assert set(data) == {"code", "message", "detail"}, f"{label} -> {status}: {data!r}"
    assert isinstance(data["code"], int), f"{label} -> {status}: {data!r}"
    assert isinstance(data["message"], str), f"{label} -> {status}: {data!r}"
    assert data["code"] // 1000 == status, f"{label} -> {status}: {data!r}"


def _conforms(case, response, label: str) -> None:
    """A success is documented: its status code, its media type and its body as the served schema says, and
    its JSON body has no key the schema does not document (``tests.openapi_strict``)."""
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except FailureGroup as group:
        found = "; ".join(f"{failure.title}: {' '.join(failure.message.split())[:400]}" for failure in group.exceptions)
        raise AssertionError(f"{label} -> {response.status_code} does not match the schema: {found}") from None
    validator = _body_validator(case.operation, response.status_code)
    if validator is not None:
        errors = [f"{list(err.absolute_path)}: {err.message[:300]}" for err in validator.iter_errors(response.json())]
        assert not errors, f"{label} -> {response.status_code} beyond its documented body: {'; '.join(errors[:3])}"


_VALIDATORS: dict[tuple[str, str, int], object] = {}


def _body_validator(operation, status: int):
    key = (operation.path, operation.method, status)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = json_body_validator(operation.schema.raw_schema, *key)
    return _VALIDATORS[key]


def _confine_output(case, out_dir: Path) -> None:
    """Export jobs write where ``output`` says: keep generated file names inside ``out_dir``."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("output"), str):
        case.body = {**body, "output": str(out_dir / ("f" + body["output"].replace("/", "_")))}


def _fuzz(app, operation, mode: GenerationMode, real: dict, users: dict, out_dir: Path, failures: list[str]) -> None:
    """Send ``EXAMPLES_PER_MODE`` generated requests to ``operation``; record every bad response."""

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        if case.path_parameters and data.draw(st.booleans(), label="seeded ids"):
            case.path_parameters = {**case.path_parameters, **real["path"]}
        if isinstance(case.body, dict) and data.draw(st.booleans(), label="seeded body ids"):
            case.body = {**case.body, **{key: value for key, value in real["body"].items() if key in case.body}}
        if data.draw(st.integers(0, 3), label="oversize a number") == 0:
            _oversize_a_number(case, data)
        if operation.path.endswith("/jobs/export"):
            _confine_output(case, out_dir)
        who = data.draw(st.sampled_from(sorted(users)), label="caller")
        # A fresh token per request: logout/refresh examples revoke theirs.
        token = account_services.token_issue(users[who]).value
        response = case.call(app=app, headers={"Authorization": f"Token {token}"})
        label = f"{who} {mode} {operation.method.upper()} {response.request.url} body={case.body!r:.300}"
        try:
            _check(case, response, label)
        except AssertionError as exc:
            failures.append(str(exc).split("\nassert")[0])

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Nothing in this operation can be made invalid (e.g. no parameters and no body).
        assert mode == GenerationMode.NEGATIVE, operation.label


@pytest.mark.slow
def test_bad_input_never_gives_a_500(db, tmp_path, monkeypatch, settings):
    monkeypatch.chdir(tmp_path)
    settings.DDS_DATA_ROOTS = [tmp_path]  # the files jobs are given (relative ones too) stay in here
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    # Upload chunks are raw bytes under the chunk protocol's media type.
    schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures: list[str] = []
    started = time.monotonic()
    for operation in operations:
        # Each operation starts from fresh data: earlier ones may have deleted or banned it.
        _wipe_database()
        ids = _seed()
        real = {"path": _real_path_parameters(operation.path, ids), "body": _real_body_ids(ids)}
        users = {"staff": User.objects.get(pk=ids["staff_id"]), "worker": User.objects.get(pk=ids["worker_id"])}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(app, operation, mode, real, users, tmp_path, failures)
    print(f"fuzzed {len(operations)} operations in {time.monotonic() - started:.1f} s")
    assert not failures, f"{len(failures)} bad responses:\n" + "\n".join(failures[:30])
