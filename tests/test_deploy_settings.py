"""HTTPS deployment settings from the environment: ``check --deploy`` clean, redirects, proxies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
HTTPS_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
)
THE_FOUR = {"security.W004", "security.W008", "security.W012", "security.W016"}


def settings_from_env(**env: str) -> dict:
    """The HTTPS settings ``dds_site.settings`` derives from ``env`` (imported in a fresh process)."""
    code = (
        "import json; from dds_site import settings as s; "
        f"print(json.dumps({{name: getattr(s, name, None) for name in {HTTPS_SETTINGS!r}}}))"
    )
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_SECURE", "DJANGO_HTTPS"))}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    if values["SECURE_PROXY_SSL_HEADER"] is not None:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def deploy_warnings(settings, values: dict) -> set[str]:
    """The ids ``manage.py check --deploy --fail-level WARNING`` reports with these settings."""
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    except SystemCheckError as error:
        return {word.strip("():") for word in str(error).split() if word.startswith("(security.")}
    return set()


def test_default_settings_are_plain_http(settings):
    values = settings_from_env()
    assert deploy_warnings(settings, values) >= THE_FOUR
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_https_switch_clears_the_four_warnings(settings):
    values = settings_from_env(DJANGO_HTTPS="1")
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    # Subdomains and preloading stay the operator's decision (W005, W021): they bind more than this site.
    assert deploy_warnings(settings, values) == {"security.W005", "security.W021"}


def test_every_security_warning_can_be_cleared_from_the_environment(settings):
    values = settings_from_env(
        DJANGO_HTTPS="1",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        DJANGO_SECURE_HSTS_PRELOAD="1",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://dds.example.com, https://admin.example.com",
    )
    assert deploy_warnings(settings, values) == set()
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://dds.example.com", "https://admin.example.com"]


def test_each_setting_has_its_own_variable(settings):
    values = settings_from_env(DJANGO_HTTPS="1", DJANGO_SECURE_SSL_REDIRECT="0", DJANGO_SECURE_HSTS_SECONDS="3600")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True


@pytest.fixture
def https_site(settings, db):
    for name, value in settings_from_env(DJANGO_HTTPS="1", DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto").items():
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = ["dds.example.com"]
    return Client(HTTP_HOST="dds.example.com")


def test_plain_http_is_redirected_but_the_health_check_answers(https_site):
    response = https_site.get("/api/v1/datasets")
    assert response.status_code == 301
    assert response["Location"] == "https://dds.example.com/api/v1/datasets"
    assert https_site.get("/api/v1/ping").status_code == 200


def test_requests_through_the_tls_proxy_are_secure(https_site):
    response = https_site.get("/api/v1/datasets", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 401  # reached the API: no redirect loop
    assert response["Strict-Transport-Security"] == "max-age=31536000"
