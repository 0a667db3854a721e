"""Dataset API views: thin wrappers around ``datasets.services`` and ``datasets.selectors``.

Permissions: every endpoint requires an authenticated user. Reading (datasets, images,
categories, labels) is open to any authenticated user; creating, changing, deleting datasets and
setting image flags requires a staff user (DDS left all of these anonymous, bug §12.1 item 2).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors, services
from datasets.serializers import (
    CategoryListOutput,
    DatasetCreateInput,
    DatasetDetailOutput,
    DatasetOutput,
    DatasetPageOutput,
    DatasetUpdateInput,
    FlagsInput,
    FlagsOutput,
    ImageListQuery,
    ImageOutput,
    ImagePageOutput,
    LabelListOutput,
)
from dds_site.api import PAGE_PARAMETERS, PagePagination, keyset_list_response, whole_list_response


class ReadAuthenticatedWriteStaff(permissions.BasePermission):
    """Safe methods for any authenticated user; anything else for staff only."""

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or bool(user.is_staff)


class DatasetViewSet(viewsets.ViewSet):
    """``/datasets``: list (page/page_size), retrieve (with category_list and label_list),
    create, partial update of name/description, delete (cascade, refused while a label
    project using the dataset is unfinished)."""

    permission_classes = [ReadAuthenticatedWriteStaff]
    lookup_value_regex = "[^/]+"

    @extend_schema(operation_id="datasets_list", parameters=PAGE_PARAMETERS, responses=DatasetPageOutput)
    def list(self, request: Request) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.dataset_list(), request, view=self)
        return paginator.get_paginated_response(DatasetOutput(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="datasets_retrieve", responses=DatasetDetailOutput)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(DatasetDetailOutput(selectors.dataset_get(pk), context={"request": request}).data)

    @extend_schema(operation_id="datasets_create", request=DatasetCreateInput, responses={201: DatasetDetailOutput})
    def create(self, request: Request) -> Response:
        data = DatasetCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dataset = services.dataset_create(
            name=values["name"],
            id_=values.get("id"),
            type=values.get("type"),
            path=values.get("path"),
            description=values.get("description"),
        )
        return Response(DatasetDetailOutput(dataset, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="datasets_partial_update", request=DatasetUpdateInput, responses=DatasetDetailOutput)
    def partial_update(self, request: Request, pk: str) -> Response:
        data = DatasetUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_update(dataset=selectors.dataset_get(pk), **data.validated_data)
        return Response(DatasetDetailOutput(dataset, context={"request": request}).data)

    @extend_schema(operation_id="datasets_destroy", responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.dataset_cascade_delete(selectors.dataset_get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageViewSet(viewsets.ViewSet):
    """``/datasets/<id>/images``: images sorted by idx, filtered by ``category_id`` (or
    ``category_name``), ``flag``, ``label_id`` (with a category: an object of both), ``file_name``
    (a prefix of the file name, any case).
    ``?page=&page_size=`` gives numbered pages with ``count``; ``?cursor=<idx>`` (start with -1)
    gives keyset pages whose cost does not grow with depth, with ``count`` null. Both return
    ``next_cursor`` (null on the last page) and ``next`` continues in the same mode.
    404051 while the dataset is waiting/importing/processing/failed."""

    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(operation_id="datasets_images_list", parameters=[ImageListQuery], responses=ImagePageOutput)
    def list(self, request: Request, dataset_id: str) -> Response:
        dataset = selectors.dataset_get_readable(dataset_id)
        query = ImageListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        filters = selectors.image_filters(
            params.get("category_id"),
            params.get("flag"),
            params.get("label_id"),
            category_name=params.get("category_name"),
            dataset_id=dataset.pk,
            file_name=params.get("file_name"),
        )
        count, images, next_cursor = selectors.image_list_page(
            dataset, filters, page_size=params["page_size"], cursor=params.get("cursor"), page=params["page"]
        )
        return keyset_list_response(
            request,
            ImageOutput(images, many=True).data,
            count=count,
            page=params["page"],
            page_size=params["page_size"],
            cursor=params.get("cursor"),
            next_cursor=next_cursor,
        )

    @extend_schema(operation_id="datasets_images_retrieve", responses=ImageOutput)
    def retrieve(self, request: Request, dataset_id: str, pk: str) -> Response:
        return Response(ImageOutput(selectors.image_get_readable(dataset_id, pk)).data)

    @extend_schema(operation_id="datasets_images_flags", request=FlagsInput, responses=FlagsOutput)
    def flags(self, request: Request, dataset_id: str) -> Response:
        """POST ``{"flag_groups": [{"flag": 0|1|2, "ids": [...]}]}`` (DDS image_flags, 400100-400104)."""
        dataset = selectors.dataset_get_readable(dataset_id)
        payload = request.data if isinstance(request.data, dict) else {}
        services.image_flags_set(dataset=dataset, flag_groups=payload.get("flag_groups"))
        return Response({"flag_export_link": dataset.flag_export_link})


class CategoryViewSet(viewsets.ViewSet):
    """``/datasets/<id>/categories``: read-only, all ``{id, name}`` in one page."""

    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(operation_id="datasets_categories_list", responses=CategoryListOutput)
    def list(self, request: Request, dataset_id: str) -> Response:
        return whole_list_response(selectors.category_list(selectors.dataset_get(dataset_id)))


class LabelViewSet(viewsets.ViewSet):
    """``/datasets/<id>/labels``: read-only label sets, GT, then User, then Pred."""

    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(operation_id="datasets_labels_list", responses=LabelListOutput)
    def list(self, request: Request, dataset_id: str) -> Response:
        return whole_list_response(selectors.label_list(selectors.dataset_get(dataset_id)))
