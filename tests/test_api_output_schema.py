"""The documented responses of the image and task-image endpoints, and of every list, are what they return.

Each response is validated against the OpenAPI document the API serves (``/api/v1/schema/``), made
strict: a key that is not documented fails (``additionalProperties: false``), so does a documented
key that is missing (``required``) or of another type. The data covers the shapes documents take:
boxes, polygons, RLE masks, keypoints, captions, confidences, FN/FP results, an image without width
and height, an image and an object written by DDS with fields missing, pre-labels, labels, reviews. Every list
is documented as the one envelope ``{count, next, previous, results}`` (plus ``next_cursor`` where it pages by
keyset), and every list's real answer is validated against it.

The output serializers render stored dicts without DRF's per-field conversions (``DictOutput``); the
same requests rendered by DRF's own field-by-field rendering must give the same bodies.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from PIL import Image as PILImage
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from datasets.documents import object_document
from datasets.images import Image
from datasets.models import DataSet
from dds_site.output import DictOutput
from labeling.models import LabelProject, LabelTask
from labeling.workflow import ImageStatus, Role
from tests.openapi_strict import strict

pytestmark = pytest.mark.usefixtures("db")

RLE = {"counts": "0b1", "size": [4, 6]}
# x, y, v, conf per keypoint, as the seed API takes them
QUADS = [10, 20, 2, 0.9, 30, 40, 1, 0.5]
LABELED = [
    {"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}},
    {"category_name": "dog", "segmentation": "1,1,5,1,5,5", "mask": RLE},
    {
        "category_name": "cat",
        "points": [1, 2, 0, 1, 2, 0.9, 3, 4, 0, 1, 1, 0.5],
        "lines": [0, 1],
        "point_colors": [1, 2, 3, 4, 5, 6],
        "point_names": ["nose", "eye"],
    },
]


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _dataset() -> DataSet:
    dataset = DataSet.create_dataset("shapes")
    full = dataset.add_image("http://img/1.jpg", width=64, height=48, metadata={"source": "camera"})
    full.add_annotation("cat", bbox=(1, 2, 30, 20), caption="a cat")
    full.add_annotation("dog", label="det", label_type="Pred", conf=0.25, bbox=(5, 5, 10, 10))
    full.add_annotation("dog", segmentation=[[1, 1, 9, 1, 9, 9]], is_group=True)
    full.add_annotation("cat", keypoints=QUADS, keypoint_names=["nose", "eye"], keypoint_skeleton=[0, 1])
    collection = Image(dataset.pk).get_collection()
    fnfp = object_document(
        label_name="det", label_type="Pred", label_id="l", category_name="dog", category_id="c", mask=RLE
    )
    fnfp.update(compare_result={"90": "FP"}, matched_det_idx=1)
    collection.update_one({"_id": full.id}, {"$push": {"objects": fnfp}})
    bare = dataset.add_image("http://img/2.jpg")  # no width and height; a classification only
    bare.add_annotation("dog")
    # As DDS may have left them: no width, height, flag or metadata; an object with nulls and gaps.
    legacy = {"label_name": "old", "label_type": "GT", "segmentation": None, "caption": None, "is_group": None}
    collection.insert_one(
        {"_id": 90, "idx": 2, "url": "http://img/90.jpg", "dataset_id": dataset.pk, "objects": [legacy]}
    )
    return dataset


def _project(dataset: DataSet, staff: User, labeler: User, reviewer: User) -> LabelTask:
    project = LabelProject.create_project(
        name="shapes", owner=staff, datasets=[dataset], managers=[staff], categories=["cat", "dog"],
        pre_label="GroundTruth",
    )  # fmt: skip
    project.init_project(batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(staff, Role.LABEL_LEADER)
    task.set_leader(staff, Role.REVIEW_LEADER)
    task.init_workers([labeler], Role.LABELER)
    task.init_workers([reviewer], Role.REVIEWER)
    return task


@pytest.fixture
def world() -> dict[str, Any]:
    staff = User.objects.create_user("shape_staff", "shape-staff-pw-1", is_staff=True)
    labeler = User.objects.create_user("shape_labeler", "shape-labeler-pw-1")
    reviewer = User.objects.create_user("shape_reviewer", "shape-reviewer-pw-1")
    dataset = _dataset()
    task = _project(dataset, staff, labeler, reviewer)
    return {"staff": staff, "labeler": labeler, "reviewer": reviewer, "dataset": dataset, "task": task}


class Documented:
    """The served OpenAPI document: validates a response of an operation against it."""

    def __init__(self, client: APIClient) -> None:
        response = client.get("/api/v1/schema/", {"format": "json"})
        assert response.status_code == 200
        self.document = response.json()
        self.operations = {
            op["operationId"]: op
            for ops in self.document["paths"].values()
            for op in ops.values()
            if "operationId" in op
        }
        self.checked: set[str] = set()

    def check(self, operation_id: str, response, status: int = 200) -> Any:
        assert response.status_code == status, response.content
        body = response.json()
        documented = self.operations[operation_id]["responses"][str(status)]["content"]["application/json"]["schema"]
        schema = strict(documented, self.document["components"]["schemas"])
        described = schema.get("items", schema)
        assert described.get("properties"), f"{operation_id}: the response's fields are not documented"
        jsonschema.Draft7Validator(schema).validate(body)
        self.checked.add(operation_id)
        return body


def _image_requests(world) -> list[tuple[str, str, dict]]:
    dataset = world["dataset"]
    base = f"/api/v1/datasets/{dataset.pk}/images"
    ids = [doc["_id"] for doc in Image(dataset.pk).get_collection().find({}, {"_id": 1})]
    requests = [
        ("datasets_images_list", base, {"page_size": 10}),
        ("datasets_images_list", base, {"cursor": -1, "page_size": 2}),
        ("datasets_images_list", base, {"category_id": "no-such-category"}),
    ]
    requests += [("datasets_images_retrieve", f"{base}/{image_id}", {}) for image_id in ids]
    return requests


def _task_image_requests(world) -> list[tuple[str, str, dict]]:
    task = world["task"]
    base = f"/api/v1/label-projects/{task.project_id}/tasks/{task.pk}/images"
    requests = [("label_projects_tasks_images_list", base, {"status": status}) for status in ImageStatus.values]
    requests.append(("label_projects_tasks_images_list", base, {"cursor": -1, "page_size": 1}))
    requests += [("api_v1_label_projects_tasks_images_retrieve", f"{base}/{task.pk}_{idx}", {}) for idx in (0, 1, 2)]
    return requests


KEYSET_LISTS = {"datasets_images_list", "label_projects_tasks_images_list"}


def _other_read_requests(world) -> list[tuple[str, str, dict]]:
    """The other reads of datasets, projects, tasks and users, lists among them."""
    dataset, task = world["dataset"], world["task"]
    project = f"/api/v1/label-projects/{task.project_id}"
    return [
        ("api_v1_users_name_lints_list", "/api/v1/users/name-lints", {"name": "shape"}),
        ("api_v1_users_me_retrieve", "/api/v1/users/me", {}),
        ("datasets_list", "/api/v1/datasets", {}),
        ("datasets_retrieve", f"/api/v1/datasets/{dataset.pk}", {}),
        ("datasets_categories_list", f"/api/v1/datasets/{dataset.pk}/categories", {}),
        ("datasets_labels_list", f"/api/v1/datasets/{dataset.pk}/labels", {}),
        ("api_v1_label_projects_list", "/api/v1/label-projects", {}),
        ("api_v1_label_projects_retrieve", project, {}),
        ("api_v1_label_projects_tasks_list", f"{project}/tasks", {}),
        ("api_v1_label_projects_tasks_retrieve", f"{project}/tasks/{task.pk}", {}),
        ("api_v1_label_projects_tasks_roles_list", f"{project}/tasks/{task.pk}/roles", {}),
    ]


def _staff_read_requests(world) -> list[tuple[str, str, dict]]:
    """Reads only staff (or the project's owner) may make."""
    task = world["task"]
    project = f"/api/v1/label-projects/{task.project_id}"
    return [
        ("api_v1_users_list", "/api/v1/users", {"page_size": 2}),
        ("api_v1_users_list", "/api/v1/users", {"page": 5, "page_size": 2}),
        ("api_v1_label_projects_history_list", f"{project}/history", {"page_size": 1}),
        ("api_v1_label_projects_tasks_history_list", f"{project}/tasks/{task.pk}/history", {}),
    ]


def _label_and_review(world, documented: Documented) -> None:
    task = world["task"]
    base = f"/api/v1/label-projects/{task.project_id}/tasks/{task.pk}/images/{task.pk}_0"
    label = documented.check(
        "api_v1_label_projects_tasks_images_label_create",
        _client(world["labeler"]).post(f"{base}/label", {"annotations": LABELED}, format="json"),
    )
    assert [annotation["category_name"] for annotation in label["annotations"]] == ["cat", "dog", "cat"]
    review = documented.check(
        "api_v1_label_projects_tasks_images_review_create",
        _client(world["reviewer"]).post(f"{base}/review", {"label_id": label["id"], "action": "accept"}, format="json"),
    )
    assert review["label_id"] == label["id"]


def _bodies(
    world, requests: list[tuple[str, str, dict]], documented: Documented | None = None, who=("staff", "labeler")
) -> list:
    clients = [_client(world[name]) for name in who]
    bodies = []
    for operation_id, url, params in requests:
        for client in clients:
            response = client.get(url, params)
            if documented is not None:
                bodies.append(documented.check(operation_id, response))
            else:
                bodies.append(response.json())
    return bodies


def test_image_and_task_image_responses_match_their_documented_schemas(world):
    documented = Documented(_client(world["staff"]))
    _label_and_review(world, documented)
    bodies = _bodies(world, _image_requests(world), documented)
    task_bodies = _bodies(world, _task_image_requests(world), documented)
    assert documented.checked == {
        "datasets_images_list",
        "datasets_images_retrieve",
        "label_projects_tasks_images_list",
        "api_v1_label_projects_tasks_images_retrieve",
        "api_v1_label_projects_tasks_images_label_create",
        "api_v1_label_projects_tasks_images_review_create",
    }
    images = {image["id"]: image for body in bodies if "results" in body for image in body["results"]}
    assert images[1]["width"] is None  # the image added without a size
    legacy = images[90]
    assert (legacy["width"], legacy["flag"], legacy["metadata"], legacy["desc"]) == (None, 0, {}, "{}")
    assert legacy["objects"][0]["segmentation"] == ""  # DDS's API gave "" for a null, as here
    assert legacy["objects"][0]["conf"] == 1.0  # a missing field shows the model's default
    shown = [image for body in task_bodies if "results" in body for image in body["results"]]
    assert any(image["default_labels"] for image in shown)  # pre-labels were rendered and checked
    assert any(image["labels"] and image["reviews"] for image in shown)


def test_declared_fields_rendered_by_drf_give_the_same_bodies(world, monkeypatch):
    _label_and_review(world, Documented(_client(world["staff"])))
    requests = _image_requests(world) + _task_image_requests(world)
    rendered = _bodies(world, requests)
    monkeypatch.setattr(DictOutput, "to_representation", serializers.Serializer.to_representation)
    assert _bodies(world, requests) == rendered


def test_other_reads_match_their_documented_schemas(world):
    documented = Documented(_client(world["staff"]))
    _label_and_review(world, documented)
    requests = _other_read_requests(world)
    _bodies(world, requests, documented)
    _bodies(world, _staff_read_requests(world), documented, who=("staff",))
    assert documented.checked >= {operation_id for operation_id, _url, _params in requests}


def _list_operations(document: dict) -> dict[str, dict]:
    return {
        op["operationId"]: op
        for ops in document["paths"].values()
        for method, op in ops.items()
        if method == "get" and op["operationId"].endswith("_list")
    }


def test_every_list_is_documented_as_the_one_envelope(world):
    documented = Documented(_client(world["staff"]))
    components = documented.document["components"]["schemas"]
    lists = _list_operations(documented.document)
    assert len(lists) >= 12
    for operation_id, operation in lists.items():
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        envelope = components[schema["$ref"].rsplit("/", 1)[1]]
        keys = {"count", "next", "previous", "results"} | ({"next_cursor"} if operation_id in KEYSET_LISTS else set())
        assert set(envelope["properties"]) == keys, operation_id
        assert set(envelope["required"]) == keys, operation_id
        for link in ("next", "previous"):
            assert envelope["properties"][link] == {**envelope["properties"][link], "type": "string", "nullable": True}
        assert envelope["properties"]["results"]["type"] == "array", operation_id
        assert envelope["properties"]["count"]["type"] == "integer", operation_id


def test_every_list_answers_the_one_envelope(world):
    """Each list operation of the schema is called and its answer validated: no list keeps another shape."""
    documented = Documented(_client(world["staff"]))
    _label_and_review(world, documented)
    requests = _image_requests(world) + _task_image_requests(world) + _other_read_requests(world)
    _bodies(world, requests, documented, who=("staff",))
    bodies = _bodies(world, _staff_read_requests(world), documented, who=("staff",))
    lists = set(_list_operations(documented.document))
    assert lists <= documented.checked
    users_past_the_end = bodies[1]
    assert (users_past_the_end["results"], users_past_the_end["next"]) == ([], None)
    assert users_past_the_end["previous"].endswith("/api/v1/users?page=2&page_size=2")


def _documents(responses: dict, response) -> bool:
    """The answer's status is documented, and so is its media type when it has a body."""
    documented = responses.get(str(response.status_code))
    if documented is None:
        return False
    media_types = list(documented.get("content") or {})
    if not media_types:
        return True
    main, sub = response["Content-Type"].split(";")[0].strip().split("/")
    return any(kind in (main, "*") and subtype in (sub, "*") for kind, subtype in (t.split("/") for t in media_types))


def test_image_file_answers_are_documented(settings, tmp_path, world):
    """Every answer of the file and thumbnail endpoints: the file, a byte range, not modified, a redirect."""
    settings.DDS_DATA_ROOTS = [tmp_path]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    picture = tmp_path / "a.jpg"
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(picture, format="JPEG")
    dataset = DataSet.create_dataset("files")
    local = dataset.add_image(f"file://{picture}", width=40, height=20)
    remote = dataset.add_image("http://img/remote.jpg", width=40, height=20)
    dataset.status = "done"
    dataset.save()
    client = _client(world["staff"])
    documented = Documented(client)
    base = f"/api/v1/datasets/{dataset.pk}/images"
    for operation_id, suffix in (("datasets_images_file", "file"), ("datasets_images_thumbnail", "thumbnail")):
        responses = documented.operations[operation_id]["responses"]
        whole = client.get(f"{base}/{local.id}/{suffix}")
        answers = [
            whole,
            client.get(f"{base}/{local.id}/{suffix}", headers={"Range": "bytes=0-9"}),
            client.get(f"{base}/{local.id}/{suffix}", headers={"If-None-Match": whole["ETag"]}),
            client.get(f"{base}/{remote.id}/{suffix}"),
        ]
        assert [answer.status_code for answer in answers] == [200, 206, 304, 302], operation_id
        for answer in answers:
            assert _documents(responses, answer), (operation_id, answer.status_code, answer["Content-Type"])


def test_job_answers_are_documented(world, settings):
    """A job run in the request answers 200 with its outcome; one started in the background 202."""
    from datasets import job_worker

    client = _client(world["staff"])
    documented = Documented(client)
    url = f"/api/v1/datasets/{world['dataset'].pk}/jobs/fnfp"
    outcome = documented.check("dataset_job_fnfp", client.post(url, {"with_coco_metrics": False}, format="json"))
    assert outcome["num_images"] == 3
    settings.DDS_JOBS_INLINE = False
    queued = documented.check("dataset_job_fnfp", client.post(url, {}, format="json"), status=202)
    assert (queued["queued"], queued["job"]) == (True, "fnfp")
    assert job_worker.wait_all(30)
