"""Site-level behaviour: health check, error envelope, documentation."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import DatabaseError
from pymongo.errors import (
    AutoReconnect,
    DocumentTooLarge,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteError,
)


def test_ping_is_anonymous_and_reports_the_database(api_client, db):
    body = api_client.get("/api/v1/ping").json()
    assert body["mongodb"] is True
    assert body["ts"] > 0


def test_ping_reports_an_unreachable_database_as_503(api_client, db):
    with mock.patch("dds_site.mongo.get_database") as get_database:
        get_database.return_value.command.side_effect = ServerSelectionTimeoutError("down")
        response = api_client.get("/api/v1/ping")
    assert response.status_code == 503
    body = response.json()
    assert (body["code"], body["message"]) == (503000, "mongodb is not available")
    assert body["detail"]["mongodb"] is False
    assert body["detail"]["ts"] > 0


def _failure(driver_error: Exception, *, wrapped: bool) -> Exception:
    """The driver's error as raw PyMongo raises it, or as Django's ORM re-raises it."""
    if not wrapped:
        return driver_error
    error = DatabaseError()
    error.__cause__ = driver_error
    return error


@pytest.mark.parametrize("wrapped", [False, True])
@pytest.mark.parametrize(
    ("driver_error", "status", "code"),
    [
        (ServerSelectionTimeoutError("no server"), 503, 503000),
        (AutoReconnect("connection closed"), 503, 503000),
        (NetworkTimeout("timed out"), 503, 503000),
        (DocumentTooLarge("update command document too large"), 413, 413000),
        (WriteError("Resulting document after update is larger than 16777216", 10334), 413, 413000),
    ],
)
def test_database_failures_in_api_views_are_typed(staff_client, driver_error, status, code, wrapped):
    with mock.patch("datasets.selectors.dataset_list", side_effect=_failure(driver_error, wrapped=wrapped)):
        response = staff_client.get("/api/v1/datasets")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "detail"}


def test_other_database_errors_stay_500s(make_user):
    # A failed query is a bug, not an outage: it must not hide behind a 503.
    from django.test import Client

    from accounts import services

    token = services.token_issue(make_user("staffer", is_staff=True)).value
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    failure = _failure(OperationFailure("unknown operator: $foo", 2), wrapped=True)
    with mock.patch("datasets.selectors.dataset_list", side_effect=failure):
        response = client.get("/api/v1/datasets")
    assert (response.status_code, response.json()["code"]) == (500, 500000)


def test_database_outage_in_the_admin_is_a_503_page(admin_client):
    failure = _failure(ServerSelectionTimeoutError("no server"), wrapped=True)
    with mock.patch("django.contrib.admin.sites.AdminSite.each_context", side_effect=failure):
        response = admin_client.get("/admin/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Database unavailable" in response.content


def test_unknown_api_path_is_a_json_404(staff_client):
    response = staff_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": 404000, "message": "Not found.", "detail": None}


def test_api_path_that_matches_no_id_pattern_is_a_json_404(staff_client):
    # Label project ids are alphanumeric: this path matches no URL pattern at all.
    response = staff_client.post("/api/v1/label-projects/%C2%A3/export", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == 404000


def test_unknown_page_outside_the_api_keeps_the_html_404(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_server_error_page_is_the_dds_envelope(rf):
    from dds_site.views import server_error

    response = server_error(rf.get("/api/v1/datasets"))
    assert response.status_code == 500
    assert json.loads(response.content) == {"code": 500000, "message": "Internal server error.", "detail": None}


def test_swagger_ui_is_served(staff_client):
    assert staff_client.get("/api/v1/docs/").status_code == 200


def test_admin_static_files_are_served_without_debug(client, settings):
    assert settings.DEBUG is False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200


def test_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any schema warning (unresolvable field, enum or operationId clash) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "tokenAuth:" in schema
    assert "DatasetJobs:" in schema
    assert "label_projects_tasks_images_list" in schema


def test_page_number_that_is_not_a_positive_integer_is_a_400(staff_client):
    for page in ("0", "-999", "abc", "1.5"):
        response = staff_client.get("/api/v1/datasets", {"page": page})
        assert response.status_code == 400, page
        assert response.json() == {
            "code": 400002,
            "message": "page must be a positive integer.",
            "detail": {"page": page},
        }
    assert staff_client.get("/api/v1/datasets", {"page": "1"}).status_code == 200
    assert staff_client.get("/api/v1/datasets", {"page": "last"}).status_code == 200
    past_the_end = staff_client.get("/api/v1/datasets", {"page": "7"})
    assert (past_the_end.status_code, past_the_end.json()["results"]) == (200, [])


def test_request_django_refuses_before_the_view_is_a_json_400(make_user):
    # Too many form fields: Django raises TooManyFieldsSent while DRF parses, and answers with handler400.
    from django.test import Client

    from accounts import services

    token = services.token_issue(make_user("staffer", is_staff=True)).value
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    form = "&".join(f"f{number}=1" for number in range(1500))
    response = client.post("/api/v1/datasets", data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json() == {"code": 400000, "message": "Bad request.", "detail": None}


def test_swagger_ui_assets_are_served_locally_not_from_a_cdn(staff_client):
    page = staff_client.get("/api/v1/docs/").content.decode()

    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    asset = staff_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_landing_page_links_to_admin_api_docs_and_labeling(client, db):
    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    for link in ('href="/admin/"', 'href="/api/v1/docs/"', 'href="/api/v1/"', 'href="/label/"'):
        assert link in page


def test_api_root_lists_entry_points_as_absolute_urls(staff_client):
    response = staff_client.get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["datasets"] == "http://testserver/api/v1/datasets"
    assert response.json()["label_projects"] == "http://testserver/api/v1/label-projects"
    assert set(response.json()) >= {"ping", "login", "users", "docs", "schema"}


def test_api_root_needs_authentication_like_the_rest_of_the_api(api_client, db):
    response = api_client.get("/api/v1/")

    assert response.status_code == 401
    assert response.json()["code"] == 401000


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "501", "1.5"])
def test_page_size_out_of_range_is_a_400_on_every_list(staff_client, page_size):
    for url in ("/api/v1/users", "/api/v1/datasets", "/api/v1/label-projects"):
        response = staff_client.get(url, {"page_size": page_size})
        assert response.status_code == 400, url
        assert response.json() == {
            "code": 400002,
            "message": "page_size must be an integer from 1 to 500.",
            "detail": {"page_size": page_size},
        }


def test_page_past_the_last_is_an_empty_page_with_the_count(staff_client):
    response = staff_client.get("/api/v1/users", {"page": 99, "page_size": 10})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["results"], body["next"]) == (1, [], None)
    assert body["previous"] == "http://testserver/api/v1/users?page=1&page_size=10"


def test_user_list_boolean_filter_refuses_values_that_are_not_true_or_false(staff_client, make_user):
    make_user("plain")

    refused = staff_client.get("/api/v1/users", {"is_staff": "maybe"})
    staff_only = staff_client.get("/api/v1/users", {"is_staff": "true"}).json()["results"]

    assert (refused.status_code, refused.json()["code"]) == (400, 400002)
    assert [user["name"] for user in staff_only] == ["staffer"]
