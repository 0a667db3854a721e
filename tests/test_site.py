"""Site-level behaviour: health check, error envelope, documentation."""

from __future__ import annotations

from unittest import mock

from pymongo.errors import ServerSelectionTimeoutError


def test_ping_is_anonymous_and_reports_the_database(api_client, db):
    body = api_client.get("/api/v1/ping").json()
    assert body["mongodb"] is True and body["ts"] > 0


def test_ping_reports_an_unreachable_database_as_503(api_client, db):
    with mock.patch("dds_site.mongo.get_database") as get_database:
        get_database.return_value.command.side_effect = ServerSelectionTimeoutError("down")
        response = api_client.get("/api/v1/ping")
    assert response.status_code == 503
    assert response.json() == {"code": 500000, "message": "mongodb is not available", "detail": None}


def test_unknown_api_path_is_a_json_404(staff_client):
    assert staff_client.get("/api/v1/no-such-thing").status_code == 404


def test_swagger_ui_is_served(staff_client):
    assert staff_client.get("/api/v1/docs/").status_code == 200


def test_admin_static_files_are_served_without_debug(client, settings):
    assert settings.DEBUG is False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
