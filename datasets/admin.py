"""Admin for datasets (deletion goes through the cascade service), categories and labels (read-mostly)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from datasets import metric_charts, services
from datasets.admin_gallery import DatasetGalleryMixin
from datasets.admin_import import DatasetImportMixin
from datasets.admin_jobs import run_fnfp_selected
from datasets.models import Category, DataSet, Label
from dds_site.admin_actions import run_each
from dds_site.admin_confirm import confirmation_page, is_confirmed
from dds_site.admin_display import job_table, key_values, ms_datetime, precision_table
from dds_site.errors import DDSError


@admin.register(DataSet)
class DataSetAdmin(DatasetImportMixin, DatasetGalleryMixin, admin.ModelAdmin):
    list_display = ("name", "status", "num_images", "annotation_types", "type", "created", "gallery_link")
    list_filter = ("status", "type")
    search_fields = ("name", "=id", "description")
    ordering = ("name",)
    readonly_fields = (
        "id",
        "status",  # moved by imports and the workflow only
        "detail_status_display",
        "num_images",
        "object_types",
        "cover_url",
        "flag_export_link",
        "files_display",
        "created",
        "analysis_display",
    )
    fields = (
        "id",
        "name",
        "description",
        "type",
        "path",
        "status",
        "detail_status_display",
        "num_images",
        "object_types",
        "cover_url",
        "flag_export_link",
        "files_display",
        "group_id",
        "group_name",
        "created",
        "analysis_display",
    )
    actions = ["cascade_delete_selected", run_fnfp_selected]

    def has_add_permission(self, request) -> bool:
        return False  # datasets are created by imports, the API or the create_dataset command

    @admin.display(description="Jobs")
    def detail_status_display(self, dataset: DataSet):
        return job_table(dataset.detail_status)

    @admin.display(description="Prediction analysis")
    def analysis_display(self, dataset: DataSet):
        return metric_charts.analysis_html(dataset.pk)

    @admin.display(description="Files")
    def files_display(self, dataset: DataSet):
        return key_values(dataset.files)

    @admin.display(description="Created", ordering="created_ts")
    def created(self, dataset: DataSet) -> str:
        return ms_datetime(dataset.created_ts)

    @admin.display(description="Annotations")
    def annotation_types(self, dataset: DataSet) -> str:
        return ", ".join(dataset.object_types or []) or "—"

    @admin.display(description="Gallery")
    def gallery_link(self, dataset: DataSet):
        return format_html('<a href="{}">Open</a>', reverse("admin:datasets_dataset_gallery", args=[dataset.pk]))

    def save_model(self, request, obj, form, change) -> None:
        """Through the service, with only the fields changed in the form, so counters updated
        meanwhile by an import (num_images, object_types, cover_url) are not overwritten with the
        form's copy. Datasets are never added here (``has_add_permission``)."""
        services.dataset_update(dataset=obj, **{name: form.cleaned_data[name] for name in form.changed_data})

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # Django's would orphan images and label tasks
        return actions

    @admin.action(description="Delete selected datasets with their images, labels and tasks", permissions=["delete"])
    def cascade_delete_selected(self, request, queryset):
        if not is_confirmed(request):
            return confirmation_page(
                self,
                request,
                queryset,
                action="cascade_delete_selected",
                title="Delete datasets",
                question=(
                    "Delete these datasets with all their images, annotations, labels, categories and label tasks? "
                    "This cannot be undone."
                ),
                items=[f"{dataset.name} ({dataset.num_images or 0} images)" for dataset in queryset],
                button="Yes, delete them",
            )
        run_each(self, request, queryset, services.dataset_cascade_delete, done="Deleted {count} dataset(s).")
        return None

    def delete_view(self, request, object_id, extra_context=None):
        """The per-object delete page: the confirmation posts into the cascade service."""
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        dataset = self.get_object(request, object_id)
        if dataset is None or not self.has_delete_permission(request, dataset):
            return super().delete_view(request, object_id, extra_context)
        try:
            services.dataset_cascade_delete(dataset)
        except DDSError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:datasets_dataset_change", args=[dataset.pk]))
        self.message_user(request, f"Deleted dataset {dataset.name}.", level=messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:datasets_dataset_changelist"))


class _ReadMostlyAdmin(admin.ModelAdmin):
    """Categories and labels are created by imports and deleted with their dataset."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(_ReadMostlyAdmin):
    list_display = ("name", "dataset", "id")
    list_select_related = ("dataset",)
    search_fields = ("name",)
    readonly_fields = ("id", "dataset")
    fields = ("id", "name", "dataset")


@admin.register(Label)
class LabelAdmin(_ReadMostlyAdmin):
    list_display = ("name", "type", "dataset", "mean_ap", "id")
    list_select_related = ("dataset",)
    list_filter = ("type",)
    search_fields = ("name",)
    readonly_fields = ("id", "type", "dataset", "precision_levels", "metrics", "clone_from_label")
    fields = ("id", "name", "type", "dataset", "precision_levels", "metrics", "clone_from_label")

    @admin.display(description="mAP")
    def mean_ap(self, label: Label) -> str:
        value = (label.coco_metrics or {}).get("map")
        return f"{value:.3f}" if isinstance(value, int | float) else "—"

    @admin.display(description="FN/FP precision levels")
    def precision_levels(self, label: Label):
        return precision_table(label.compare_precisions)

    @admin.display(description="COCO metrics")
    def metrics(self, label: Label):
        return key_values(label.coco_metrics)
