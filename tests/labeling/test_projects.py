"""Reference §11.2-11.4: creating, editing and initialising projects, plus bugs 13, 17, 18."""

from __future__ import annotations

import pytest

from datasets.models import Label
from dds_site.errors import InvalidArgument
from labeling.errors import (
    CantCreateProject,
    CategoriesEmpty,
    ConfigIncomplete,
    DatasetOccupied,
    DatasetsEmpty,
    LabelProjectError,
    ManagersEmpty,
    ManagersEmptyOnEdit,
    ProjectNotWaiting,
)
from labeling.models import LabelProject, LabelTask, ProjectRole
from labeling.task_images import LabelTaskImage
from labeling.workflow import ProjectStatus, TaskStatus
from tests.factories import DatasetFactory
from tests.labeling.conftest import make_dataset, make_users

COUNTERS = ("task_num_total", "task_num_waiting", "task_num_working", "task_num_reviewing")


@pytest.fixture
def ten(db):
    users = make_users("tcp", 2)
    datasets = [make_dataset(f"dataset_{n:02d}") for n in range(10)]
    return users, datasets


def _create(users, datasets, owner=None, managers=None, categories=("cat",)):
    return LabelProject.create_project(
        name="p",
        owner=owner or users["staff"][0],
        datasets=datasets,
        managers=users["manager"] if managers is None else managers,
        categories=list(categories),
    )


def test_project_create_normal(ten):
    users, datasets = ten
    project = LabelProject.create_project(
        name="project_00",
        owner=users["staff"][0],
        datasets=datasets[0:2],
        managers=users["manager"][0:2],
        categories=["dog", "mouse", "cat", "mouse", "DOG", "Mouse"],
        description="project_00",
    )
    stored = LabelProject.objects.get(pk=project.pk)
    assert stored.name == "project_00"
    assert stored.status == ProjectStatus.WAITING
    assert {d["id"] for d in stored.datasets} == {d.pk for d in datasets[0:2]}
    assert {m["id"] for m in stored.managers} == {u.pk for u in users["manager"][0:2]}
    assert all(getattr(stored, name) == 0 for name in (*COUNTERS, "task_num_rejected", "task_num_accepted"))
    assert stored.categories == "cat,dog,mouse"
    owners = ProjectRole.objects.filter(project_id=project.pk, role="owner")
    assert [r.user_id for r in owners] == [users["staff"][0].pk]
    managers = ProjectRole.objects.filter(project_id=project.pk, role="manager")
    assert {r.user_id for r in managers} == {u.pk for u in users["manager"][0:2]}
    assert managers.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "code", "status"),
    [
        ({"managers": []}, ManagersEmpty.code, 400),
        ({"datasets": []}, DatasetsEmpty.code, 400),
        ({"categories": []}, CategoriesEmpty.code, 400),
        ({"categories": [" ", ""]}, CategoriesEmpty.code, 400),
        ({"owner": "others"}, CantCreateProject.code, 403),
    ],
)
def test_project_create_rejects_bad_input(ten, kwargs, code, status):
    users, datasets = ten
    args = {"datasets": datasets[8:10]}
    args.update(kwargs)
    if args.get("owner") == "others":
        args["owner"] = users["others"][-1]
    with pytest.raises(LabelProjectError) as caught:
        _create(users, **args)
    assert (caught.value.code, caught.value.http_status) == (code, status)
    assert LabelProject.objects.count() == 0
    assert ProjectRole.objects.count() == 0


def test_project_create_rejects_occupied_dataset(ten):
    users, datasets = ten
    _create(users, datasets[0:2])
    with pytest.raises(LabelProjectError) as caught:
        _create(users, datasets[1:3], owner=users["staff"][-1])
    assert caught.value.code == DatasetOccupied.code
    assert LabelProject.objects.count() == 1


def test_dataset_is_free_again_after_export_or_delete_bug18(ten):
    users, datasets = ten
    first = _create(users, datasets[0:1])
    LabelProject.objects.filter(pk=first.pk).update(status=ProjectStatus.EXPORTED)
    second = _create(users, datasets[0:1])
    second.init_project(batch_size=0, label_times=1, review_times=0)
    from labeling import services

    services.project_delete(project=second, actor=None)
    assert not LabelTask.objects.filter(project_id=second.pk).exists()
    assert not ProjectRole.objects.filter(project_id=second.pk).exists()
    assert LabelTaskImage(datasets[0].pk).count_num({}) == 0
    assert _create(users, datasets[0:1]).status == ProjectStatus.WAITING


@pytest.fixture
def four(db):
    users = make_users("tep", 10)
    datasets = [make_dataset(f"dataset_{n:02d}", 100) for n in range(8)]
    projects = [
        LabelProject.create_project(
            name=f"project_{i:02d}",
            owner=users["staff"][i],
            datasets=datasets[2 * i : 2 * i + 2],
            managers=users["manager"][2 * i : 2 * i + 2],
            categories=["cat", "dog", "mouse"],
        )
        for i in range(4)
    ]
    return users, datasets, projects


def test_project_edit_description_and_managers(four):
    users, _, projects = four
    for i, project in enumerate(projects):
        before = LabelProject.objects.get(pk=project.pk)
        new_managers = users["manager"][2 * i + 1 : 2 * i + 3]
        project.edit_project(desc=f"project_edited_{i:02d}", managers=new_managers)
        stored = LabelProject.objects.get(pk=project.pk)
        assert stored.description == project.description == f"project_edited_{i:02d}"
        roles = ProjectRole.objects.filter(project_id=project.pk, role="manager")
        assert sorted(r.user_id for r in roles) == sorted(u.pk for u in new_managers)
        assert [m["id"] for m in stored.managers] == [u.pk for u in new_managers]
        for name in ("name", "datasets", "owner", "status", "categories", "created_ts"):
            assert getattr(stored, name) == getattr(before, name)


def test_project_edit_empty_managers_fails(four):
    _, _, projects = four
    for project in projects:
        with pytest.raises(LabelProjectError) as caught:
            project.edit_project(managers=[])
        assert caught.value.code == ManagersEmptyOnEdit.code
        assert ProjectRole.objects.filter(project_id=project.pk, role="manager").count() == 2


def test_project_edit_description_alone_bug13(four):
    _, _, projects = four
    projects[0].edit_project(desc="only the description")
    assert LabelProject.objects.get(pk=projects[0].pk).description == "only the description"
    assert ProjectRole.objects.filter(project_id=projects[0].pk, role="manager").count() == 2


def _check_tasks(project, expected_sizes):
    project.refresh_from_db()
    assert project.status == ProjectStatus.WORKING
    assert project.task_num_total == project.task_num_waiting == len(expected_sizes)
    assert project.task_num_working == project.task_num_reviewing == project.task_num_accepted == 0
    tasks = list(LabelTask.objects.filter(project_id=project.pk).order_by("idx"))
    assert [t.idx for t in tasks] == list(range(len(expected_sizes)))
    assert [t.num_total for t in tasks] == expected_sizes
    for task in tasks:
        assert task.status == TaskStatus.WAITING
        assert task.dataset_id in project.dataset_ids
        assert LabelTaskImage(task.dataset_id).count_num({"task_id": task.pk}) == task.num_total


@pytest.mark.parametrize(
    ("index", "batch_size", "sizes"),
    [
        (0, 0, [100, 100]),
        (1, 30, [30, 30, 30, 10] * 2),
        (2, 40, [40, 40, 20] * 2),
        (3, 50, [50] * 4),
    ],
)
def test_project_init_splits_tasks(four, index, batch_size, sizes):
    project = four[2][index]
    project.init_project(batch_size=batch_size, label_times=2, review_times=2)
    _check_tasks(project, sizes)


def test_project_init_task_images_follow_dataset_order(four):
    project = four[2][1]
    project.init_project(batch_size=30, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk, idx=1)
    docs = list(LabelTaskImage(task.dataset_id).find_many({"task_id": task.pk}, sort=[("idx", 1)]))
    assert [d.idx for d in docs] == list(range(30, 60))
    assert [d.id for d in docs] == [f"{task.pk}_{k}" for k in range(30, 60)]
    assert docs[0].image_id == 30


def test_project_init_empty_config_and_twice(four):
    project = four[2][0]
    with pytest.raises(LabelProjectError) as caught:
        project.init_project()
    assert caught.value.code == ConfigIncomplete.code
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING
    project.init_project(batch_size=0, label_times=2, review_times=2)
    with pytest.raises(LabelProjectError) as caught:
        project.init_project(batch_size=0, label_times=2, review_times=2)
    assert caught.value.code == ProjectNotWaiting.code
    assert LabelTask.objects.filter(project_id=project.pk).count() == 2


@pytest.mark.parametrize("config", [(-1, 1, 1), (10, 0, 1), (10, 1, -1)])
def test_project_init_rejects_bad_numbers(four, config):
    project = four[2][0]
    with pytest.raises(LabelProjectError) as caught:
        project.init_project(*config)
    assert caught.value.code == ConfigIncomplete.code
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING


def test_project_init_failure_rolls_back_bug17(four, monkeypatch):
    from labeling import services

    project = four[2][1]
    calls = {"n": 0}

    def failing(position):
        calls["n"] += 1
        if calls["n"] == 150:
            raise RuntimeError("disk full")

    monkeypatch.setattr(services, "before_init_image", [failing])
    with pytest.raises(RuntimeError):
        project.init_project(batch_size=30, label_times=1, review_times=1)
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING
    assert LabelTask.objects.filter(project_id=project.pk).count() == 0
    assert all(LabelTaskImage(d).count_num({}) == 0 for d in project.dataset_ids)
    monkeypatch.setattr(services, "before_init_image", [])
    project.init_project(batch_size=30, label_times=1, review_times=1)
    _check_tasks(project, [30, 30, 30, 10] * 2)


def test_project_init_resume_after_crash_bug17(four):
    from labeling import services

    project = four[2][2]
    project.init_project(batch_size=40, label_times=1, review_times=1)
    # Simulate a crash in the middle: status stuck in initializing with partial output.
    LabelProject.objects.filter(pk=project.pk).update(status=ProjectStatus.INITIALIZING)
    LabelTask.objects.filter(project_id=project.pk, idx__gte=3).delete()
    services.project_init(project=project, resume=True, actor=None)
    _check_tasks(project, [40, 40, 20] * 2)


def test_project_init_pre_label(db):
    users = make_users("tpl", 1)
    box = {"xmin": 0.1, "ymin": 0.2, "xmax": 0.3, "ymax": 0.4}
    pixels = (64, 96, 128, 96)  # the box on the factory's 640x480 images
    dataset = DatasetFactory(
        name="pre",
        num_images=3,
        annotations=lambda _: [
            {"category": "Zebra", "label": "model", "label_type": "Pred", "bbox": pixels},
            {"category": "cat", "bbox": pixels},
        ],
    )
    assert set(Label.objects.filter(dataset_id=dataset.pk).values_list("name", flat=True)) == {"model", "GroundTruth"}
    with pytest.raises(InvalidArgument):
        LabelProject.create_project(
            name="p",
            owner=users["staff"][0],
            datasets=[dataset],
            managers=users["manager"],
            categories=["cat"],
            pre_label="other_model",  # not a label set of the dataset
        )
    assert not LabelProject.objects.exists()
    project = LabelProject.create_project(
        name="p",
        owner=users["staff"][0],
        datasets=[dataset],
        managers=users["manager"],
        categories=["cat"],
        pre_label="model",
    )
    project.init_project(batch_size=0, label_times=1, review_times=0)
    assert project.categories == "Zebra,cat"
    image = next(LabelTaskImage(dataset.pk).find_many({}))
    assert image.default_labels.user_id == "_pre"
    assert image.default_labels.annotations == [{"category_id": "Zebra", "category_name": "Zebra", "bounding_box": box}]
