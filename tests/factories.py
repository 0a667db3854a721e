"""factory_boy factories of the tests' data, each built through the public model API (as a client of DDS would).

``UserFactory()`` -> a saved active user whose password is ``"<name>-pw-123"`` (``StaffFactory``, ``SuperuserFactory``);
``DatasetFactory(num_images=3)`` -> a ready dataset whose images were added by its batch API;
``LabelProjectFactory(owner=..., datasets=[...], init={"batch_size": 0, ...})`` -> a project, initialised if asked;
``StaffedTaskFactory(project=..., label_leader=..., labelers=[...])`` -> one of its tasks with leaders and workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import factory
from rest_framework.test import APIClient

from accounts.models import User
from datasets.models import DataSet
from labeling.models import LabelProject, LabelTask
from labeling.workflow import Role

# The kinds of users a labeling test staffs projects and tasks with (``users_by_role``).
USER_KINDS = ("staff", "owner", "manager", "label_leader", "review_leader", "labeler", "reviewer", "others")


def password_of(name: str) -> str:
    """The password the factories give the user ``name``."""
    return f"{name}-pw-123"


class UserFactory(factory.Factory):
    class Meta:
        model = User

    name = factory.Sequence(lambda number: f"user_{number:03d}")
    password = factory.LazyAttribute(lambda user: password_of(user.name))
    is_staff = False
    is_superuser = False

    @classmethod
    def _create(cls, model_class: type[User], name: str, password: str, **fields) -> User:
        return model_class.objects.create_user(name, password, **fields)


class StaffFactory(UserFactory):
    is_staff = True


class SuperuserFactory(UserFactory):
    is_staff = True
    is_superuser = True


def users_by_role(prefix: str, per_kind: int) -> dict[str, list[User]]:
    """``per_kind`` users of every kind in ``USER_KINDS``, named ``<prefix>_<kind>_<nn>``; the staff kind is staff."""
    return {
        kind: [
            (StaffFactory if kind == "staff" else UserFactory)(name=f"{prefix}_{kind}_{number:02d}")
            for number in range(per_kind)
        ]
        for kind in USER_KINDS
    }


def api_client_for(user: User | None) -> APIClient:
    """A DRF test client authenticated as ``user`` (anonymous for ``None``)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


Annotations = Callable[[int], Sequence[dict]]


def add_images(
    dataset: DataSet,
    count: int,
    *,
    size: tuple[int, int] = (640, 480),
    start_id: int | None = None,
    url: str = "http://img/{dataset}/{number}.jpg",
    annotations: Annotations | None = None,
) -> DataSet:
    """Add ``count`` images through the dataset's batch API; ``annotations(number)`` gives each image's
    annotations as keyword arguments of ``batch_add_annotation``."""
    width, height = size
    for number in range(count):
        image = dataset.batch_add_image(
            url.format(dataset=dataset.name, number=number),
            width=width,
            height=height,
            id_=None if start_id is None else start_id + number,
        )
        for annotation in annotations(number) if annotations else ():
            image.batch_add_annotation(**annotation)
    dataset.finish_batch_add_image()
    return dataset


class DatasetFactory(factory.Factory):
    """A dataset made by ``DataSet.create_dataset``, with ``num_images`` images of ``image_size`` added by
    ``add_images`` (``annotations``: see there)."""

    class Meta:
        model = DataSet

    name = factory.Sequence(lambda number: f"dataset_{number:02d}")
    num_images = 0
    image_size = (640, 480)
    annotations = None

    @classmethod
    def _create(
        cls,
        model_class: type[DataSet],
        name: str,
        num_images: int,
        image_size: tuple[int, int],
        annotations: Annotations | None,
        **fields,
    ) -> DataSet:
        dataset = model_class.create_dataset(name, **fields)
        if num_images:
            add_images(dataset, num_images, size=image_size, annotations=annotations)
            dataset.refresh_from_db()
        return dataset


class LabelProjectFactory(factory.Factory):
    """``LabelProject.create_project``; with ``init`` (``init_project``'s keyword arguments) also initialised."""

    class Meta:
        model = LabelProject

    name = "project"
    owner = factory.SubFactory(StaffFactory)
    datasets = factory.LazyFunction(lambda: [DatasetFactory(num_images=10)])
    managers = factory.LazyFunction(lambda: [UserFactory()])
    categories = ("cat", "dog", "bird", "test")
    init = None

    @classmethod
    def _create(cls, model_class: type[LabelProject], categories: Sequence[str], init: dict | None, **fields):
        project = model_class.create_project(categories=list(categories), **fields)
        if init is not None:
            project.init_project(**init)
        return project


class StaffedTaskFactory(factory.Factory):
    """Task ``idx`` of an initialised project with its label leader, review leader (optional), labelers and
    reviewers, staffed in that order through the task's model API."""

    class Meta:
        model = LabelTask

    project = factory.SubFactory(LabelProjectFactory, init={"batch_size": 0, "label_times": 1, "review_times": 0})
    idx = 0
    label_leader = factory.SubFactory(UserFactory)
    review_leader = None
    labelers = factory.LazyFunction(lambda: [UserFactory()])
    reviewers = ()

    @classmethod
    def _create(
        cls,
        model_class: type[LabelTask],
        project: LabelProject,
        idx: int,
        label_leader: User,
        review_leader: User | None,
        labelers: Sequence[User],
        reviewers: Sequence[User],
    ) -> LabelTask:
        task = model_class.objects.get(project_id=project.pk, idx=idx)
        task.set_leader(label_leader, Role.LABEL_LEADER)
        if review_leader is not None:
            task.set_leader(review_leader, Role.REVIEW_LEADER)
        task.init_workers(list(labelers), Role.LABELER)
        if reviewers:
            task.init_workers(list(reviewers), Role.REVIEWER)
        task.refresh_from_db()
        return task

    @classmethod
    def for_users(
        cls, users: dict[str, list[User]], project: LabelProject, *, label_times: int, review_times: int, idx: int = 0
    ) -> LabelTask:
        """Staff task ``idx`` from ``users_by_role`` users: the first leaders, the first ``label_times`` labelers and
        ``review_times`` reviewers (no review leader when the project needs no review)."""
        return cls(
            project=project,
            idx=idx,
            label_leader=users["label_leader"][0],
            review_leader=users["review_leader"][0] if review_times else None,
            labelers=users["labeler"][:label_times],
            reviewers=users["reviewer"][:review_times],
        )
