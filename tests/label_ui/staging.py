"""A labeling task over real image files, staffed with one person per role (for page and browser tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw

from accounts.models import User
from datasets.models import DataSet
from dds_site.files import resolve_data_path
from labeling.models import LabelProject, LabelTask
from labeling.workflow import Role

CATEGORIES = ("cat", "dog", "bird")


def password(name: str) -> str:
    return f"{name}-pw-123"


def make_user(name: str, *, is_staff: bool = False) -> User:
    return User.objects.create_user(name, password(name), is_staff=is_staff)


def image_file(path: Path, size: tuple[int, int], number: int) -> Path:
    """A JPEG with a few coloured shapes, so screenshots show something to label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    picture = PILImage.new("RGB", size, ((37 * number) % 200 + 30, 90, 140))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((width // 8, height // 6, width // 2, height // 2), fill=(230, 200, 60))
    draw.ellipse((width // 2, height // 2, width * 7 // 8, height * 5 // 6), fill=(60, 200, 120))
    picture.save(path, format="JPEG", quality=80)
    return path


PRE_LABEL = "pre"


def image_dataset(name: str, count: int, *, size: tuple[int, int] = (640, 480), pre_labels: bool = False) -> DataSet:
    """A ready dataset of ``count`` JPEG files under the data roots; with ``pre_labels``, each image has a
    "cat" box (a quarter of the image, from its first eighth) in the prediction set ``PRE_LABEL``."""
    folder = resolve_data_path(".") / name
    dataset = DataSet.create_dataset(name, id_=name)
    width, height = size
    for number in range(count):
        path = image_file(folder / f"{number:04d}.jpg", size, number)
        image = dataset.add_image(f"file://{path}", width=width, height=height, id=number)
        if pre_labels:
            box = (width // 8, height // 8, width // 2, height // 2)
            image.add_annotation("cat", label=PRE_LABEL, label_type="Pred", bbox=box)
    dataset.status = "done"
    dataset.save()
    return dataset


@dataclass
class Staffed:
    project: LabelProject
    task: LabelTask
    users: dict[str, User]


def staffed_task(
    prefix: str,
    *,
    images: int = 4,
    size: tuple[int, int] = (640, 480),
    labelers: int = 1,
    reviewers: int = 1,
    pre_labels: bool = False,
) -> Staffed:
    """One working task: owner, manager, both leaders, ``labelers`` labelers and ``reviewers`` reviewers."""
    names = ["owner", "manager", "label_leader", "review_leader", "outsider"]
    names += [f"labeler{n}" for n in range(labelers)] + [f"reviewer{n}" for n in range(reviewers)]
    users = {name: make_user(f"{prefix}_{name}", is_staff=name in ("owner", "manager")) for name in names}
    dataset = image_dataset(f"{prefix}_images", images, size=size, pre_labels=pre_labels)
    project = LabelProject.create_project(
        name=f"{prefix} project",
        owner=users["owner"],
        datasets=[dataset],
        managers=[users["manager"]],
        categories=list(CATEGORIES),
        pre_label=PRE_LABEL if pre_labels else None,
    )
    project.init_project(batch_size=0, label_times=labelers, review_times=reviewers)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"], Role.LABEL_LEADER)
    if reviewers:
        task.set_leader(users["review_leader"], Role.REVIEW_LEADER)
    task.init_workers([users[f"labeler{n}"] for n in range(labelers)], Role.LABELER)
    if reviewers:
        task.init_workers([users[f"reviewer{n}"] for n in range(reviewers)], Role.REVIEWER)
    task.refresh_from_db()
    project.refresh_from_db()
    return Staffed(project=project, task=task, users=users)
