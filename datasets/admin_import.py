"""Importing a dataset from the admin: a form that uploads the files and starts the import job.

The form goes through the upload and import services the API uses (``datasets.uploads``,
``datasets.upload_imports``), so the same limits, checks and error codes apply, and the same rule:
staff only (the admin site admits staff alone). The import runs as a job; the dataset page shows
its progress, refreshed by polling ``GET /api/v1/datasets/<id>/jobs``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from datasets import upload_imports, uploads
from datasets.importers.manifest import FORMATS
from datasets.job_status import job_status_for
from datasets.jobs import LIVE_STATES
from datasets.models import DataSet
from dds_site.errors import DDSError

FORMAT_HELP = {
    "coco": "COCO JSON (or a zip holding it and the images: name the JSON below)",
    "tsv": "DDS TSV file",
    "yolo": "zip with images/, classes.txt and labels/",
    "images": "zip of images, no annotations",
}


class DatasetImportForm(forms.Form):
    format = forms.ChoiceField(choices=[(kind, f"{kind} — {FORMAT_HELP[kind]}") for kind in FORMATS])
    file = forms.FileField(help_text="the annotation file, or a zip")
    images = forms.FileField(required=False, help_text="coco: a zip of the images (optional)")
    name = forms.CharField(required=False, max_length=256, help_text="dataset name (default: the file name)")
    annotation_file = forms.CharField(
        required=False, max_length=1024, help_text="coco/tsv in a zip: the annotation file's name inside it"
    )
    image_root = forms.CharField(
        required=False, max_length=1024, help_text="coco: the images' directory inside the zip (default: its top)"
    )
    skip_invalid = forms.BooleanField(required=False, help_text="skip bad records and report how many")
    strict = forms.BooleanField(
        required=False, help_text="refuse boxes overhanging their image (by default they are clipped and counted)"
    )

    def options(self) -> dict:
        data = self.cleaned_data
        key = {"coco": "ground_truth", "tsv": "path"}.get(data["format"])
        options = {}
        if key and data["annotation_file"]:
            options[key] = data["annotation_file"]
        if data["format"] == "coco" and data["image_root"]:
            options["image_root"] = data["image_root"]
        return options


def _store(owner: str, file) -> uploads.Upload:
    with file.open("rb") as source:
        return uploads.store_file(owner, file.name, source, file.size)


def start_import(request: HttpRequest, form: DatasetImportForm, dataset: DataSet | None) -> dict:
    """Upload the form's files and start the import; the uploads are removed if it cannot start."""
    owner = str(request.user.pk)
    stored: list[uploads.Upload] = []
    try:
        stored.append(_store(owner, form.cleaned_data["file"]))
        if form.cleaned_data.get("images"):
            stored.append(_store(owner, form.cleaned_data["images"]))
        return upload_imports.import_upload(
            owner,
            stored[0].id,
            form.cleaned_data["format"],
            options=form.options(),
            images_upload=stored[1].id if len(stored) > 1 else None,
            name=form.cleaned_data["name"] or None,
            dataset_id=dataset.pk if dataset is not None else None,
            skip_invalid=form.cleaned_data["skip_invalid"],
            strict=form.cleaned_data["strict"],
        )
    except BaseException:
        for upload in stored:
            uploads.delete(owner, upload.id)
        raise


def import_progress_html(user, dataset: DataSet, started_after: str | None = None) -> SafeString:
    """The dataset's last import as a progress bar, refreshed in the page while it runs.

    ``started_after``: an import was just started, when the dataset's import entry was that attempt's
    ("" for none); while the entry is still that one, the new import's worker has not claimed it yet.
    """
    entry = (job_status_for(user, dataset.detail_status or {}) or {}).get("import")
    entry = entry if isinstance(entry, dict) else None
    live = entry is not None and entry.get("state") in LIVE_STATES
    starting = started_after is not None and ((entry or {}).get("attempt") or "") == started_after
    if starting:
        previous_attempt = started_after
        entry = {"state": "starting"}
    elif entry is None:
        return SafeString(render_to_string("admin/datasets/dataset/_import_progress.html", {"entry": None}))
    total, done = entry.get("total"), entry.get("progress") or 0
    percent = min(100, round(100 * done / total)) if total else (100 if entry.get("state") == "ready" else 0)
    context = {
        "entry": entry,
        "done": done,
        "total": total,
        "percent": percent,
        "live": live or starting,
        "starting": starting,
        "previous_attempt": previous_attempt if starting else "",
        "jobs_url": reverse("dataset-jobs", args=[dataset.pk]),
    }
    return SafeString(render_to_string("admin/datasets/dataset/_import_progress.html", context))


# The change page's query parameter naming the import entry a just-started import will replace.
STARTED_AFTER = "import_started_after"


def _started_after(value: str | None) -> str | None:
    """An attempt id from the query string (hex, or "" for none), else None."""
    if value is None or len(value) > 64 or any(char not in "0123456789abcdef" for char in value):
        return None
    return value


class DatasetImportMixin:
    """Adds ``import/`` (a new dataset) and ``<id>/import/`` (re-import) to the dataset admin."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="{}_{}_import".format(*info)),
            path("<str:object_id>/import/", wrap(self.import_view), name="{}_{}_reimport".format(*info)),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        dataset = self.get_object(request, unquote(object_id))
        if dataset is not None:
            extra_context = {
                **(extra_context or {}),
                "dds_import_progress": import_progress_html(
                    request.user, dataset, _started_after(request.GET.get(STARTED_AFTER))
                ),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def import_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        dataset = None
        if object_id is not None:
            dataset = self.get_object(request, unquote(object_id))
            if dataset is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_change_permission(request, dataset):
                raise PermissionDenied
        form = DatasetImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            previous = ((dataset.detail_status or {}).get("import") or {}) if dataset else {}
            try:
                outcome = start_import(request, form, dataset)
            except DDSError as exc:
                form.add_error(None, f"{exc.message} ({exc.code})")
            else:
                verb = "started" if outcome.get("queued") else "done"
                self.message_user(request, f"Import {verb}: its progress is shown below.", messages.SUCCESS)
                info = self.opts.app_label, self.opts.model_name
                url = reverse("admin:{}_{}_change".format(*info), args=[outcome["dataset_id"]])
                if outcome.get("queued"):
                    url += "?" + urlencode({STARTED_AFTER: previous.get("attempt") or ""})
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Import into {dataset.name}" if dataset else "Import a dataset",
            "form": form,
            "dataset": dataset,
            "max_upload_bytes": uploads.max_upload_bytes(),
        }
        return TemplateResponse(request, "admin/datasets/dataset/import.html", context)
