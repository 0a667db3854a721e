"""The dataset admin's gallery: thumbnails with their annotations drawn over them, a page per image,
and flags set on a selection.

Seeing the gallery takes the admin's view permission on datasets; setting flags takes the change
permission, and goes through ``services.image_flags_set`` as the API's flag endpoint does (with its
validation and error messages). The toggles of label sets and the confidence sliders work in the
browser (``datasets/gallery.js``); every other option is a query parameter read by ``datasets.gallery``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from datasets import gallery, selectors, services
from datasets.errors import ImageNotFound
from datasets.gallery_html import tiles_html
from datasets.models import DataSet
from datasets.serializers import MAX_IMAGE_NUMBER
from dds_site.errors import DDSError

# The gallery's query parameters that a flag form sends back, to return to the same page.
RETURN_FIELD = "return_query"


class DatasetGalleryMixin:
    """Adds ``<id>/gallery/``, ``<id>/gallery/flags/`` and ``<id>/gallery/<image id>/`` to a dataset admin."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("<str:object_id>/gallery/", wrap(self.gallery_view), name="{}_{}_gallery".format(*info)),
            path(
                "<str:object_id>/gallery/flags/",
                wrap(require_POST(self.gallery_flags_view)),
                name="{}_{}_gallery_flags".format(*info),
            ),
            path(
                "<str:object_id>/gallery/<str:image_id>/",
                wrap(self.gallery_image_view),
                name="{}_{}_gallery_image".format(*info),
            ),
            *super().get_urls(),
        ]

    # --- helpers ----------------------------------------------------------------------------

    def _gallery_url(self, dataset: DataSet, query: str = "") -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_gallery", args=[dataset.pk]) + query

    def _gallery_dataset(self, request: HttpRequest, object_id: str) -> DataSet | HttpResponse:
        """The dataset if the user may see it and its images are readable, else the response to send."""
        dataset = self.get_object(request, unquote(object_id))
        if dataset is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, dataset):
            raise PermissionDenied
        try:
            selectors.dataset_get_readable(dataset.pk)
        except DDSError as exc:
            self.message_user(request, f"The gallery opens once the dataset is ready: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[dataset.pk])
            )
        return dataset

    def _options(self, request: HttpRequest, params: QueryDict, sets: list[gallery.LabelSet]):
        options, errors = gallery.parse_options(params, sets)
        for error in errors:
            self.message_user(request, f"Ignored an invalid option. {error}", messages.ERROR)
        return options

    def _context(self, request: HttpRequest, dataset: DataSet, options, sets, **extra) -> dict:
        prefix = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": dataset,
            "dataset": dataset,
            "options": options,
            "label_sets": [
                {
                    "set": label_set,
                    "shown": label_set.id not in options.hidden,
                    "min_conf": options.conf_of(label_set.id),
                }
                for label_set in sets
            ],
            "fnfp_choices": [
                {
                    "value": f"{label_set.id}:{level['key']}",
                    "text": f"{label_set.name} at precision {level['precision']:.1f} (conf ≥ {level['threshold']:.2f})",
                    "selected": options.fnfp == (label_set.id, level["key"]),
                }
                for label_set in sets
                for level in label_set.levels
            ],
            "legend": [
                {
                    **category,
                    # a chip shows only that category, keeping the other filters; the active chip clears it
                    "query": options.query(
                        category_id="" if options.category_id == category["id"] else category["id"],
                        cursor=-1,
                        page_number=1,
                    ),
                }
                for category in gallery.legend(dataset)
            ],
            "page_sizes": sorted({*gallery.PAGE_SIZES, options.page_size}),
            "default_page_size": gallery.DEFAULT_PAGE_SIZE,
            "flag_names": gallery.FLAG_NAMES,
            "error_kinds": gallery.ERROR_KINDS,
            "file_name_max_length": gallery.FILE_NAME_MAX_LENGTH,
            "can_flag": self.has_change_permission(request, dataset),
            "gallery_url": self._gallery_url(dataset),
            "change_url": reverse(f"{prefix}_change", args=[dataset.pk]),
            "flags_url": reverse(f"{prefix}_gallery_flags", args=[dataset.pk]),
            "return_field": RETURN_FIELD,
            **extra,
        }

    # --- views ------------------------------------------------------------------------------

    def gallery_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        dataset = self._gallery_dataset(request, object_id)
        if isinstance(dataset, HttpResponse):
            return dataset
        sets = gallery.label_sets(dataset)
        options = self._options(request, request.GET, sets)
        page = gallery.gallery_page(dataset, options)
        next_query = options.query(**options.next_page(page.next_cursor)) if page.next_cursor is not None else None
        previous = options.previous_page()
        context = self._context(
            request,
            dataset,
            options,
            sets,
            title=f"Gallery of {dataset.name}",
            page=page,
            tiles_html=tiles_html(
                page.tiles,
                base_url=self._gallery_url(dataset),
                query=options.query(),
                can_flag=self.has_change_permission(request, dataset),
            ),
            first_query=options.query(cursor=-1, page_number=1),
            next_query=next_query,
            previous_query=options.query(**previous) if previous is not None else None,
            query=options.query(),
            return_query=urlencode(options.params()),
        )
        return TemplateResponse(request, "admin/datasets/dataset/gallery.html", context)

    def gallery_image_view(self, request: HttpRequest, object_id: str, image_id: str) -> HttpResponse:
        dataset = self._gallery_dataset(request, object_id)
        if isinstance(dataset, HttpResponse):
            return dataset
        sets = gallery.label_sets(dataset)
        options = self._options(request, request.GET, sets)
        try:
            number = int(image_id)
            if abs(number) > MAX_IMAGE_NUMBER:
                raise ValueError(image_id)
            tile, next_id = gallery.image_detail(dataset, number, options)
        except (ValueError, ImageNotFound):
            self.message_user(request, f"Image “{image_id}” is not in this dataset.", messages.WARNING)
            return HttpResponseRedirect(self._gallery_url(dataset, options.query()))
        query = options.query()  # the gallery page this image was opened from, and its filters
        context = self._context(
            request,
            dataset,
            options,
            sets,
            title=f"Image {tile.id} of {dataset.name}",
            tile=tile,
            next_id=next_id,
            query=query,
            back_query=options.query(),
            return_query=urlencode(options.params()),
        )
        return TemplateResponse(request, "admin/datasets/dataset/gallery_image.html", context)

    def gallery_flags_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST ``flag`` and ``ids`` (several): sets the flag of those images, then back to the page."""
        dataset = self._gallery_dataset(request, object_id)
        if isinstance(dataset, HttpResponse):
            return dataset
        if not self.has_change_permission(request, dataset):
            raise PermissionDenied
        back = self._return_url(request, dataset)
        ids = request.POST.getlist("ids")
        if not ids:
            self.message_user(request, "Select the images to flag first.", messages.WARNING)
            return HttpResponseRedirect(back)
        flag = request.POST.get("flag", "")
        try:
            value = int(flag)
        except ValueError:
            value = flag  # the service refuses it with DDS's message (400102)
        try:
            services.image_flags_set(dataset=dataset, flag_groups=[{"flag": value, "ids": ids}])
        except DDSError as exc:
            self.message_user(request, f"No flag was changed: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(back)
        self.log_change(request, dataset, f"Set the flag of {len(ids)} image(s) to {gallery.FLAG_NAMES[value]}.")
        self.message_user(
            request, f"Set the flag of {len(ids)} image(s) to {gallery.FLAG_NAMES[value]}.", messages.SUCCESS
        )
        return HttpResponseRedirect(back)

    def _return_url(self, request: HttpRequest, dataset: DataSet) -> str:
        """The gallery page (or image page) the form came from, rebuilt from its parsed parameters only."""
        params = QueryDict(request.POST.get(RETURN_FIELD, ""))
        query = gallery.parse_options(params, gallery.label_sets(dataset))[0].query()  # reported when shown
        image_id = request.POST.get("image", "")
        if image_id.isdigit():
            return (
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_gallery_image", args=[dataset.pk, image_id]
                )
                + query
            )
        return self._gallery_url(dataset, query)
