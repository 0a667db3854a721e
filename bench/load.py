"""Load test: simulated users against gunicorn workers over HTTP on 127.0.0.1 (not part of the test suite).

Run as ``python bench/load.py [--celery]``. Without ``MONGODB_URI`` an in-memory embedded server is started.
Two datasets are written with raw ``insert_many`` (``LOAD_IMAGES``, default 100,000 = 1/100 of a 10M-image
installation, and ``LOAD_SMALL_IMAGES``, default 1,000), each gets a label project of 100-image tasks
(label_times 1, review_times 1); gunicorn starts with ``LOAD_WORKERS`` workers (default 2 x cores + 1).
``LOAD_USERS`` (default 50) simulated users, half on each project, act with no think time for ``LOAD_SECONDS``
(default 60): per project a leader (task list, task page, task images), labeler/reviewer pairs sharing a task
(list their images, label / accept or reject one, relabel the rejected ones; as many pairs on both projects, at
most one per task of the small one) and curators for the rest (dataset image pages through the keyset cursor,
from a random depth).

Reported per action and project size: count, p50, p95, errors; the throughput; then the verification: every
label and review answered 2xx is stored (the last one of each user on each image, as later ones replace it),
every staffed role's counters equal a recount of its task's images, and nothing answered 5xx.
``p95_ratio`` is the largest ratio, over the actions both projects share, of the p95 on the large project to
the p95 on the small one (the same actions on the same server at the same time).

``--celery`` starts Debian's ``redis-server`` on a free local port and a Celery worker with
``CELERY_BROKER_URL`` pointing at it, runs the load once without jobs and once while a staff user keeps a
COCO import (``LOAD_JOB_IMAGES`` images with predictions, default 2,000; the first fills an empty dataset, each later
one replaces it through a staging collection and a swap) and an FN/FP calculation going on the worker;
``celery_p95_ratio`` is the labeling actions' p95 with the jobs over without them. ``LOAD_ROUNDS`` (default
1) alternates the two runs that many times and pools each kind's requests, so that a shared machine's changing load
weighs on both alike; the CPU seconds each process (and its children) used are reported per kind of run, and
``labeling_by_job_step`` splits the labeling requests of the runs with jobs by the job step under way when they were
sent (as the job's status polls saw it: to within a poll's round trip), and ``import_phases`` lists the seconds of each
import's phases as the worker logged them.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from common import ROOT, raw_dataset, setup_django

LARGE = int(os.environ.get("LOAD_IMAGES", 100_000))
SMALL = int(os.environ.get("LOAD_SMALL_IMAGES", 1_000))
USERS = int(os.environ.get("LOAD_USERS", 50))
SECONDS = float(os.environ.get("LOAD_SECONDS", 60))
WORKERS = int(os.environ.get("LOAD_WORKERS", 2 * (os.cpu_count() or 1) + 1))
JOB_IMAGES = int(os.environ.get("LOAD_JOB_IMAGES", 2_000))
ROUNDS = int(os.environ.get("LOAD_ROUNDS", 1))
TASK_SIZE = 100
LIST_PAGE = 20
IMAGE_PAGE = 100
BOX = [{"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.4, "ymax": 0.5}}]
# Actions of the labeling project whose p95 the ratios compare (the curator's pages are the dataset's).
LABELING_ACTIONS = ("list_labeling", "list_rejected", "list_reviewing", "label", "review", "task_list", "task_page")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


# --- the two projects ------------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One dataset with its label project and the users acting on it."""

    label: str  # "large" or "small"
    dataset_id: str
    project_id: str
    size: int
    leader: str = ""
    curators: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str, str, str]] = field(default_factory=list)  # (task_id, labeler, reviewer, labeler id)
    user_ids: dict[str, str] = field(default_factory=dict)  # token -> user id
    build_s: dict[str, float] = field(default_factory=dict)  # seconds to write, initialise, staff


def _token(user) -> str:
    from accounts import services

    return services.token_issue(user).value


def build_side(label: str, size: int, users: int, pairs: int, owner, manager) -> Side:
    """A dataset of ``size`` images, a project of 100-image tasks, and ``users`` users on it: a leader,
    ``pairs`` labeler/reviewer pairs (one task each, at most one per task) and curators for the rest."""
    from accounts.models import User
    from labeling.models import LabelProject, LabelTask
    from labeling.workflow import Role

    started = time.perf_counter()
    dataset = raw_dataset(f"load_{label}", size, lambda n: [{"category_name": "cat", **BOX[0]}])
    written = time.perf_counter()
    project = LabelProject.create_project(
        name=f"load {label}", owner=owner, datasets=[dataset], managers=[manager], categories=["cat"]
    )
    project.init_project(batch_size=TASK_SIZE, label_times=1, review_times=1)
    initialised = time.perf_counter()
    print(
        f"{label}: {size} images written in {written - started:.1f} s, project initialised in "
        f"{initialised - written:.1f} s",
        flush=True,
    )
    side = Side(label, dataset.pk, project.pk, size)
    side.build_s = {"write": round(written - started, 1), "init_project": round(initialised - written, 1)}
    task_ids = list(LabelTask.objects.filter(project_id=project.pk).order_by("idx").values_list("id", flat=True))
    num_pairs = max(1, min(pairs, len(task_ids)))
    num_curators = max(1, users - 1 - 2 * num_pairs)
    # Tasks spread over the whole project, so the large project's work lies deep in its collections.
    chosen = [task_ids[i * len(task_ids) // num_pairs] for i in range(num_pairs)]

    def user(kind: str, n: int, staff: bool = False):
        created = User.objects.create_user(f"{label}_{kind}_{n}", None, is_staff=staff)  # token auth only
        token = _token(created)
        side.user_ids[token] = created.pk
        return created, token

    leader, side.leader = user("leader", 0)
    review_leader = user("review_leader", 0)[0]  # starts the tasks with the label leader; not simulated
    for n in range(num_curators):
        side.curators.append(user("curator", n, staff=True)[1])
    for n, task_id in enumerate(chosen):
        task = LabelTask.objects.get(pk=task_id)
        task.set_leader(leader, Role.LABEL_LEADER)
        task.set_leader(review_leader, Role.REVIEW_LEADER)
        labeler, labeler_token = user("labeler", n)
        reviewer, reviewer_token = user("reviewer", n)
        task.init_workers([labeler], Role.LABELER)
        task.init_workers([reviewer], Role.REVIEWER)
        side.pairs.append((task_id, labeler_token, reviewer_token, labeler.pk))
    side.build_s["staff"] = round(time.perf_counter() - initialised, 1)
    print(f"{label}: {num_pairs} staffed tasks, {num_curators} curators in {time.perf_counter() - started:.1f} s")
    return side


# --- simulated users ---------------------------------------------------------------------------------------------


@dataclass
class Record:
    size: str
    action: str
    ms: float
    status: int  # 0: no answer
    at: float = 0.0  # when it was sent (time.perf_counter())


class Recorder:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self.job_steps: list[tuple[float, str]] = []  # (since when, "kind:phase") of the job running, in order
        self.labels: dict[tuple[str, str, str], str] = {}  # (dataset, image, labeler) -> last label id
        self.reviews: dict[tuple[str, str, str, str], str] = {}  # (dataset, image, reviewer, label) -> review id
        self.samples: dict[str, str] = {}  # action -> the first unexpected answer's body
        self.lock = threading.Lock()

    def add(self, record: Record, body: str = "") -> None:
        with self.lock:
            self.records.append(record)
            if body and record.action not in self.samples:
                self.samples[record.action] = f"{record.status} {body[:300]}"


class Client:
    def __init__(self, base: str, token: str, size: str, recorder: Recorder) -> None:
        self.base, self.size, self.recorder = base, size, recorder
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, action: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        failure = ""
        try:
            response = self.session.request(method, self.base + path, timeout=120, **kwargs)
        except requests.RequestException as exc:
            response, failure = None, repr(exc)
        ms = (time.perf_counter() - started) * 1000
        status = response.status_code if response is not None else 0
        unexpected = status == 0 or (status >= 400 and status != 409)
        self.recorder.add(
            Record(self.size, action, ms, status, started),
            response.text if unexpected and response is not None else failure,
        )
        return response


def _ok(response: requests.Response | None) -> dict | None:
    return response.json() if response is not None and response.status_code < 300 else None


def labeler_loop(client: Client, side: Side, task_id: str, labeler_id: str, stop: threading.Event) -> None:
    url = f"/api/v1/label-projects/{side.project_id}/tasks/{task_id}/images"
    while not stop.is_set():
        images: list[dict] = []
        for status in ("labeling", "rejected"):
            page = _ok(
                client.call(
                    f"list_{status}", "get", url, params={"status": status, "cursor": -1, "page_size": LIST_PAGE}
                )
            )
            images = (page or {}).get("results") or []
            if images:
                break
        if not images:  # all labeled: relabel what waits for review
            page = _ok(
                client.call(
                    "list_reviewing", "get", url, params={"status": "reviewing", "cursor": -1, "page_size": LIST_PAGE}
                )
            )
            images = (page or {}).get("results") or []
        if not images:
            continue
        image = random.choice(images)
        label = _ok(client.call("label", "post", f"{url}/{image['id']}/label", json={"annotations": BOX}))
        if label is not None:
            with client.recorder.lock:
                client.recorder.labels[(side.dataset_id, image["id"], labeler_id)] = label["id"]


def reviewer_loop(client: Client, side: Side, task_id: str, reviewer_id: str, stop: threading.Event) -> None:
    url = f"/api/v1/label-projects/{side.project_id}/tasks/{task_id}/images"
    while not stop.is_set():
        page = _ok(
            client.call(
                "list_reviewing", "get", url, params={"status": "reviewing", "cursor": -1, "page_size": LIST_PAGE}
            )
        )
        images = [image for image in (page or {}).get("results") or [] if image["labels"]]
        if not images:
            time.sleep(0.05)  # nothing labeled yet: the labeler is behind
            continue
        image = random.choice(images)
        label_id = image["labels"][0]["id"]
        action = "reject" if random.random() < 0.2 else "accept"
        review = _ok(
            client.call("review", "post", f"{url}/{image['id']}/review", json={"label_id": label_id, "action": action})
        )
        if review is not None:
            with client.recorder.lock:
                client.recorder.reviews[(side.dataset_id, image["id"], reviewer_id, label_id)] = review["id"]


def leader_loop(client: Client, side: Side, stop: threading.Event) -> None:
    base = f"/api/v1/label-projects/{side.project_id}/tasks"
    while not stop.is_set():
        task_id = random.choice(side.pairs)[0]
        client.call("task_list", "get", base, params={"page_size": 50})
        client.call("task_page", "get", f"{base}/{task_id}")
        client.call(
            "list_labeling",
            "get",
            f"{base}/{task_id}/images",
            params={"status": "labeling", "cursor": -1, "page_size": LIST_PAGE},
        )


def curator_loop(client: Client, side: Side, stop: threading.Event) -> None:
    url = f"/api/v1/datasets/{side.dataset_id}/images"
    cursor = random.randrange(side.size) - 1
    while not stop.is_set():
        page = _ok(client.call("image_page", "get", url, params={"cursor": cursor, "page_size": IMAGE_PAGE}))
        cursor = (page or {}).get("next_cursor")
        if cursor is None:
            cursor = -1


def job_loop(client: Client, dataset_id: str, spec: dict, stop: threading.Event, outcomes: list[str]) -> None:
    """Keep an import (with predictions) then an FN/FP calculation running on the Celery worker."""
    base = f"/api/v1/datasets/{dataset_id}/jobs"
    while not stop.is_set():
        for kind, body in (("import", spec), ("fnfp", {"with_coco_metrics": True})):
            if stop.is_set():  # the users have stopped: start no new job
                break
            response = client.call(f"job_{kind}", "post", f"{base}/{kind}", json=body)
            if response is None or response.status_code >= 300:
                outcomes.append(f"{kind}: HTTP {getattr(response, 'status_code', 0)}")
                time.sleep(1)
                continue
            while True:
                time.sleep(0.5)
                entry = (_ok(client.call("job_status", "get", base)) or {}).get(kind) or {}
                state = entry.get("state")
                step = f"{kind}:{entry.get('phase') or state}"
                with client.recorder.lock:
                    if not client.recorder.job_steps or client.recorder.job_steps[-1][1] != step:
                        client.recorder.job_steps.append((time.perf_counter(), step))
                if state not in ("running", "swapping", "queued", None):
                    outcomes.append(f"{kind}: {state}")
                    break
                if stop.is_set() and state is None:
                    break


def merged(recorders: list[Recorder]) -> Recorder:
    """One recorder with every request of ``recorders`` (the phases of one kind), for the figures."""
    out = Recorder()
    for recorder in recorders:
        out.records.extend(recorder.records)
        for action, sample in recorder.samples.items():
            out.samples.setdefault(action, sample)
    return out


def run_phase(base: str, sides: list[Side], seconds: float, job: Callable | None = None) -> Recorder:
    recorder = Recorder()
    stop = threading.Event()
    threads = []

    def start(target, side: Side, token: str, *args) -> None:
        client = Client(base, token, side.label, recorder)
        threads.append(threading.Thread(target=target, args=(client, side, *args, stop), daemon=True))

    for side in sides:
        start(leader_loop, side, side.leader)
        for token in side.curators:
            start(curator_loop, side, token)
        for task_id, labeler, reviewer, _labeler_id in side.pairs:
            start(labeler_loop, side, labeler, task_id, side.user_ids[labeler])
            start(reviewer_loop, side, reviewer, task_id, side.user_ids[reviewer])
    if job is not None:
        threads.append(threading.Thread(target=job, args=(recorder, stop), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    return recorder


# --- figures and verification ------------------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summarise(recorder: Recorder, seconds: float) -> dict:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in recorder.records:
        groups[(record.size, record.action)].append(record)
    actions = {}
    for (size, action), records in sorted(groups.items()):
        ms = [r.ms for r in records]
        actions[f"{size}.{action}"] = {
            "count": len(records),
            "p50_ms": round(_p(ms, 50), 1),
            "p95_ms": round(_p(ms, 95), 1),
            "errors": sum(1 for r in records if r.status == 0 or r.status >= 500),
            "conflicts": sum(1 for r in records if r.status == 409),
            "other_4xx": sum(1 for r in records if 400 <= r.status < 500 and r.status != 409),
        }
    ratios = {}
    for action in (*LABELING_ACTIONS, "image_page"):
        large, small = actions.get(f"large.{action}"), actions.get(f"small.{action}")
        if large and small:
            ratios[action] = round(large["p95_ms"] / small["p95_ms"], 3)
    labeling = [r.ms for r in recorder.records if r.action in LABELING_ACTIONS]
    return {
        "requests": len(recorder.records),
        "throughput_rps": round(len(recorder.records) / seconds, 1),
        "errors": sum(a["errors"] for a in actions.values()),
        "unexpected_4xx": sum(a["other_4xx"] for a in actions.values()),
        "conflicts": sum(a["conflicts"] for a in actions.values()),
        "labeling_p95_ms": round(_p(labeling, 95), 1) if labeling else None,
        "p95_ratio_by_action": ratios,
        "p95_ratio": max(ratios.values()) if ratios else None,
        "unexpected_samples": recorder.samples,
        "actions": actions,
    }


def p95_by_job_step(recorders: list[Recorder]) -> dict[str, dict]:
    """The labeling actions' count and p95 by the job step under way when each was sent, as the job loop's
    polls saw it (to within a poll's round trip)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for recorder in recorders:
        times = [at for at, _ in recorder.job_steps]
        for record in recorder.records:
            if record.action in LABELING_ACTIONS:
                index = bisect.bisect_right(times, record.at) - 1
                groups[recorder.job_steps[index][1] if index >= 0 else "import:submitting"].append(record.ms)
    return {step: {"count": len(ms), "p95_ms": round(_p(ms, 95), 1)} for step, ms in groups.items()}


def _lost_writes(recorders: list[Recorder]) -> tuple[int, list[str]]:
    """The 2xx labels and reviews not stored (the last one of each user on each image; reviews of a label
    replaced since are dropped by design)."""
    from labeling import store

    labels: dict = {}
    reviews: dict = {}
    for recorder in recorders:  # phases run one after another: a later phase's write replaces an earlier one
        labels.update(recorder.labels)
        reviews.update(recorder.reviews)
    docs: dict[tuple[str, str], dict] = {}

    def doc(dataset_id: str, image_id: str) -> dict:
        if (dataset_id, image_id) not in docs:
            docs[(dataset_id, image_id)] = store.task_images(dataset_id).find_one({"_id": image_id}) or {}
        return docs[(dataset_id, image_id)]

    lost: list[str] = []
    for (dataset_id, image_id, labeler_id), label_id in labels.items():
        current = (doc(dataset_id, image_id).get("labels") or {}).get(labeler_id) or [{}]
        if current[0].get("id") != label_id:
            lost.append(f"label {label_id} of image {image_id}")
    for (dataset_id, image_id, reviewer_id, label_id), review_id in reviews.items():
        stored = doc(dataset_id, image_id)
        if label_id not in {items[0]["id"] for items in (stored.get("labels") or {}).values() if items}:
            continue
        mine = [r for r in (stored.get("reviews") or {}).get(reviewer_id, []) if r["label_id"] == label_id]
        if not mine or mine[0]["id"] != review_id:
            lost.append(f"review {review_id} of image {image_id}")
    return len(labels) + len(reviews), lost


def _counter_mismatches(sides: list[Side]) -> list[str]:
    """Every staffed task's active roles: stored counters against a plain recount of its images' statuses."""
    from collections import Counter

    from labeling import store
    from labeling.models import TaskRole
    from labeling.workflow import COUNTER_FIELD

    mismatches: list[str] = []
    for side in sides:
        for task_id, *_ in side.pairs:
            counts: dict[str, Counter] = defaultdict(Counter)
            for image in store.task_images(side.dataset_id).find({"task_id": task_id}, {"role_status": 1}):
                for key, status in (image.get("role_status") or {}).items():
                    counts[key][status] += 1
            for role in store.orm(TaskRole).find({"task_id": task_id, "is_active": True}):
                key = role["role"] if role["role"].endswith("leader") else f"{role['role']}_{role['user_id']}"
                for status, counter in COUNTER_FIELD.items():
                    if role.get(counter, 0) != counts[key][status]:
                        mismatches.append(f"{task_id} {key} {counter}={role.get(counter, 0)} != {counts[key][status]}")
    return mismatches


def verify(recorders: list[Recorder], sides: list[Side]) -> dict:
    checked, lost = _lost_writes(recorders)
    mismatches = _counter_mismatches(sides)
    return {
        "writes_checked": checked,
        "lost_writes": len(lost),
        "lost_examples": lost[:5],
        "counter_mismatches": len(mismatches),
        "counter_examples": mismatches[:5],
    }


# --- processes ---------------------------------------------------------------------------------------------------


class Processes:
    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []
        self.roles: dict[str, int] = {}  # role -> pid of the process tree's root, for the CPU figures

    def start(self, args: list[str], env: dict, log: Path, role: str = "") -> subprocess.Popen:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        if role:
            self.roles[role] = process.pid
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each role's process and its descendants (Linux ``/proc``),
    and by this process (``client``: the simulated users)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def root_of(pid: int) -> int | None:
        while pid > 1:
            if pid in roots.values():
                return pid
            pid = parents.get(pid, 0)
        return None

    totals = dict.fromkeys(roots, 0.0)
    role_of = {pid: role for role, pid in roots.items()}
    for pid, seconds in used.items():
        root = root_of(pid)
        if root is not None:
            totals[role_of[root]] += seconds
    own = os.times()
    return {**totals, "client": own.user + own.system}


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: round(after[role] - before.get(role, 0.0), 1) for role in after}


def cpu_total(used: list[dict[str, float]]) -> dict[str, float]:
    return {role: round(sum(phase.get(role, 0.0) for phase in used), 1) for role in used[0]}


def start_celery(processes: Processes, env: dict, scratch: Path) -> None:
    redis = shutil.which("redis-server")
    if redis is None:
        raise SystemExit("--celery needs redis-server (Debian package redis-server)")
    port = _free_port()
    processes.start(
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        env,
        scratch / "redis.log",
        "redis",
    )
    env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    time.sleep(1)
    processes.start(
        # INFO: each import logs the seconds of its phases (``import_phases``).
        [sys.executable, "-m", "celery", "-A", "dds_site", "worker", "--concurrency", "1", "--loglevel", "INFO"],
        env,
        scratch / "celery.log",
        "celery",
    )


def import_phases(log: Path) -> list[dict[str, float]]:
    """The seconds of each phase (write, index, swap, ...) of every import the worker logged."""
    marker = "images, phases "
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [ast.literal_eval(line.split(marker, 1)[1]) for line in lines if marker in line]


def job_dataset(scratch: Path) -> tuple[str, dict]:
    """A dataset the job loop re-imports: COCO ground truth and predictions under a data root."""
    from import_coco import write_coco, write_results

    from datasets.models import DataSet

    gt, det = scratch / "data" / "gt.json", scratch / "data" / "det.json"
    gt.parent.mkdir()
    write_coco(gt, JOB_IMAGES)
    write_results(gt, det)
    dataset = DataSet.get_importing_dataset("load jobs", id_="loadjobs")
    return dataset.pk, {"format": "coco", "ground_truth": str(gt), "predictions": [{"name": "det", "file": str(det)}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--celery", action="store_true", help="run imports and FN/FP on a Celery worker as well")
    args = parser.parse_args()
    processes = Processes()
    server = None
    scratch = Path(tempfile.mkdtemp(prefix="dds-load-"))
    try:
        env = {**os.environ, "DDS_DATA_ROOTS": str(scratch / "data"), "DDS_VAR_DIR": str(scratch / "var")}
        os.environ.update({k: env[k] for k in ("DDS_DATA_ROOTS", "DDS_VAR_DIR")})
        server = setup_django()
        if server is not None:
            processes.roles["db"] = server.pid
        env.update({k: os.environ[k] for k in ("MONGODB_URI", "MONGODB_NAME", "DJANGO_SETTINGS_MODULE")})
        from accounts.models import User

        owner = User.objects.create_user("load_owner", None, is_staff=True)
        manager = User.objects.create_user("load_manager", None)
        # The same number of pairs on both sides (the small project has SMALL / 100 tasks); the rest curate.
        pairs = min((USERS // 2 - 2) // 2, max(1, SMALL // TASK_SIZE))
        sides = [
            build_side("large", LARGE, USERS // 2, pairs, owner, manager),
            build_side("small", SMALL, USERS - USERS // 2, pairs, owner, manager),
        ]
        jobs = job_dataset(scratch) if args.celery else None
        if args.celery:
            start_celery(processes, env, scratch)
        port = _free_port()
        processes.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "dds_site.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "300",
                "--access-logfile",
                "-",
            ],
            env,
            scratch / "gunicorn.log",
            "gunicorn",
        )
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/v1/ping", 120)
        print(f"gunicorn: {WORKERS} workers on 127.0.0.1:{port}; {USERS} users for {SECONDS:.0f} s", flush=True)
        job = None
        outcomes: list[str] = []
        if jobs is not None:
            dataset_id, spec = jobs
            owner_token = _token(owner)

            def job(recorder_: Recorder, stop: threading.Event) -> None:
                job_loop(Client(base, owner_token, "jobs", recorder_), dataset_id, spec, stop, outcomes)

        def measured(job_: Callable | None) -> tuple[Recorder, dict[str, float]]:
            before = cpu_seconds(processes.roles)
            return run_phase(base, sides, SECONDS, job_), cpu_used(before, cpu_seconds(processes.roles))

        recorders: list[Recorder] = []  # in the order they ran: a later phase's write replaces an earlier one
        without: list[tuple[Recorder, dict]] = []
        with_jobs: list[tuple[Recorder, dict]] = []
        for _ in range(ROUNDS if job is not None else 1):
            without.append(measured(None))
            recorders.append(without[-1][0])
            if job is not None:
                with_jobs.append(measured(job))
                recorders.append(with_jobs[-1][0])
        seconds = SECONDS * len(without)
        out = {
            "images_large": LARGE,
            "images_small": SMALL,
            "users": USERS,
            "workers": WORKERS,
            "cores": os.cpu_count(),
            "seconds": SECONDS,
            "rounds": len(without),
            "build_s": {side.label: side.build_s for side in sides},
            **summarise(merged([recorder for recorder, _ in without]), seconds),
            "cpu_s": cpu_total([cpu for _, cpu in without]),
        }
        if with_jobs:
            summary = summarise(merged([recorder for recorder, _ in with_jobs]), seconds)
            out["celery"] = {
                **summary,
                "cpu_s": cpu_total([cpu for _, cpu in with_jobs]),
                "jobs": outcomes,
                "labeling_by_job_step": p95_by_job_step([recorder for recorder, _ in with_jobs]),
                "import_phases": import_phases(scratch / "celery.log"),
            }
            out["celery_p95_ratio"] = round(summary["labeling_p95_ms"] / out["labeling_p95_ms"], 3)
            out["celery_p95_ratio_by_round"] = [
                round(summarise(on, SECONDS)["labeling_p95_ms"] / summarise(off, SECONDS)["labeling_p95_ms"], 3)
                for (off, _), (on, _) in zip(without, with_jobs, strict=True)
            ]
            out["errors"] += summary["errors"]
        out.update(verify(recorders, sides))
        print(json.dumps(out["actions"], indent=1), flush=True)
        print(json.dumps(out))
    except BaseException:
        for log in sorted(scratch.glob("*.log")):
            print(f"--- {log.name} (last lines)", file=sys.stderr)
            print("\n".join(log.read_text(errors="replace").splitlines()[-20:]), file=sys.stderr)
        raise
    finally:
        processes.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
