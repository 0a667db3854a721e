"""Settings for the DDS site, read from the environment.

MONGODB_URI          a real MongoDB (``manage.py`` starts the embedded server when unset)
MONGODB_NAME         database name (default ``dds``)
MONGODB_TIMEOUT_MS   how long a request waits for an unreachable database before a 503 (default 5000)
DJANGO_SECRET_KEY    generated once into ``var/secret_key`` for local use when unset
DJANGO_DEBUG         "1"/"true" to enable debug (off by default)
DJANGO_ALLOWED_HOSTS comma-separated host names (default: localhost names)
DJANGO_HTTPS         "1" when the site is served over HTTPS only: redirects HTTP, secure cookies, HSTS
DJANGO_SECURE_PROXY_SSL_HEADER header a TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto)
DJANGO_CSRF_TRUSTED_ORIGINS comma-separated origins allowed to POST forms (e.g. https://dds.example.com)
DDS_TOKEN_AGE        API token lifetime in seconds (default 86400)
DDS_LOGIN_RATE       failed logins allowed per client address (default 10/minute)
DDS_LOGIN_ACCOUNT_RATE failed logins allowed per account name (default 30/hour)
DDS_TRUSTED_PROXIES  how many proxies in front append to X-Forwarded-For (default 0: the header is ignored)
DDS_CACHE_URL        a redis:// URL: Django's cache and the login counters live there (default: counters in MongoDB)
DDS_LEGACY_SECRET    the SECRET_KEY of a DDS installation whose users are adopted
DDS_MAX_REQUEST_BYTES largest request body read into memory (default 2.5 MB; larger is a 413000)
DDS_MAX_OBJECTS_PER_IMAGE annotations one label submission may hold (default 2000)
DDS_MAX_POINTS_PER_OBJECT keypoints, or polygon points, per annotation (default 2000)
DDS_JOB_STALE_AFTER_S seconds without a heartbeat after which a running job counts as dead (default 120)
DDS_DATA_ROOTS       directories (separated by os.pathsep) the job API may read and write (default var/data)
DDS_THUMBS_DIR       where image thumbnails are cached (default var/thumbs)
DDS_MAX_UPLOAD_BYTES largest upload accepted (default 10 GiB; larger is a 413000)
DDS_MAX_UNPACKED_BYTES bytes an uploaded zip may unpack to (default 4x the upload limit; more is a 413110)
DDS_MAX_UNPACKED_FILES files an uploaded zip may hold (default 1,000,000; more is a 413110)
DDS_UPLOAD_EXPIRE_S  seconds after which an unfinished upload is purged (default 86400)
DDS_JOBS_INLINE      "1": without CELERY_BROKER_URL, jobs run inside the request (default: in a server thread)
DDS_JOB_NICE         nice value background jobs run at, 0-19 (default 10; 0 leaves them alone)
DDS_JOB_PAUSE        a background job pauses this many times each batch's time between batches (default 0)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DDS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _local_secret_key() -> str:
    """A per-checkout secret kept under var/ so sessions survive restarts; never committed."""
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key()
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# HTTPS. DJANGO_HTTPS=1 turns on what a site served only over HTTPS wants (``manage.py check --deploy``
# W004, W008, W012, W016); each setting can also be set alone with the env variable of its name.
https_only = env_bool("DJANGO_HTTPS")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", https_only)
# Load balancers often probe over plain HTTP: the health check answers there instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/ping$"]
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if https_only else 0))
# Off unless asked for: they bind every subdomain, and the browsers' preload list, to HTTPS (W005, W021).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", https_only)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", https_only)
# Behind a proxy that terminates TLS, the request reaches Django over HTTP; the proxy says the scheme in
# this header, which it must always set (overwriting any the client sent).
_proxy_ssl_header = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "dds_site.apps.MongoAdminConfig",
    "dds_site.apps.MongoAuthConfig",
    "dds_site.apps.MongoContentTypesConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_mongodb_backend",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally, not from a CDN
    "dds_site",
    "accounts",
    "datasets",
    "labeling",
    "label_ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dds_site.middleware.DatabaseErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "labeling.middleware.WorkflowActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dds_site.urls"
WSGI_APPLICATION = "dds_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

MONGODB_URI = os.environ.get("MONGODB_URI", "")
MONGODB_NAME = os.environ.get("MONGODB_NAME", "dds")

# How long a request waits for an unreachable database before it fails with 503000 (the driver's
# default, 30 s, stalls every worker during an outage). The health check waits half a second at most.
MONGODB_TIMEOUT_MS = int(os.environ.get("MONGODB_TIMEOUT_MS", 5000))
MONGODB_PING_TIMEOUT_MS = min(MONGODB_TIMEOUT_MS, 500)

DATABASES = {
    "default": {
        "ENGINE": "django_mongodb_backend",
        "HOST": MONGODB_URI,
        "NAME": MONGODB_NAME,
        "OPTIONS": {"serverSelectionTimeoutMS": MONGODB_TIMEOUT_MS},
    },
}
DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
MIGRATION_MODULES = {
    "admin": "dds_site.mongo_migrations.admin",
    "auth": "dds_site.mongo_migrations.auth",
    "contenttypes": "dds_site.mongo_migrations.contenttypes",
}

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "accounts.hashers.DDSFernetPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Lifetime of an API token in seconds; tokens expire absolutely (no sliding renewal).
DDS_TOKEN_AGE = int(os.environ.get("DDS_TOKEN_AGE", 24 * 3600))
# The SECRET_KEY of a DDS installation whose reversibly-encrypted passwords we accept once.
DDS_LEGACY_SECRET = os.environ.get("DDS_LEGACY_SECRET", "")
# A running dataset job (import, export, FN/FP) whose heartbeat is older than this counts as dead and
# may be taken over, even if its process lives on; jobs beat several times per window.
DDS_JOB_STALE_AFTER_S = float(os.environ.get("DDS_JOB_STALE_AFTER_S", 120))
# The only directories whose files the server reads or writes on behalf of a request or of imported
# data (``dds_site.files``); relative entries are relative to the project directory.
DDS_DATA_ROOTS = [
    BASE_DIR / Path(item.strip()).expanduser()
    for item in os.environ.get("DDS_DATA_ROOTS", "").split(os.pathsep)
    if item.strip()
] or [VAR_DIR / "data"]
# Uploads (``datasets.uploads``, under ``<first data root>/uploads/``): the largest file accepted, the
# most a zip may unpack to and how many files it may hold, and how long an unfinished upload is kept.
DDS_MAX_UPLOAD_BYTES = int(os.environ.get("DDS_MAX_UPLOAD_BYTES", 10 * 1024**3))
DDS_MAX_UNPACKED_BYTES = int(os.environ.get("DDS_MAX_UNPACKED_BYTES", 4 * DDS_MAX_UPLOAD_BYTES))
DDS_MAX_UNPACKED_FILES = int(os.environ.get("DDS_MAX_UNPACKED_FILES", 1_000_000))
DDS_UPLOAD_EXPIRE_S = float(os.environ.get("DDS_UPLOAD_EXPIRE_S", 24 * 3600))
# No multipart file is kept beyond DDS_MAX_UPLOAD_BYTES, not even in Django's temporary files.
FILE_UPLOAD_HANDLERS = [
    "datasets.upload_handlers.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Without CELERY_BROKER_URL, jobs started by a request run in a thread of the server (the request
# returns at once); DDS_JOBS_INLINE=1 runs them inside the request instead.
DDS_JOBS_INLINE = env_bool("DDS_JOBS_INLINE")
# Set: dataset jobs are Celery tasks on this broker (dds_site/celery.py); empty: server threads as above.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# How background jobs give way to requests (datasets.job_priority): their threads' nice value, and the
# pause after each batch as a multiple of the batch's time.
DDS_JOB_NICE = min(19, max(0, int(os.environ.get("DDS_JOB_NICE", 10))))
DDS_JOB_PAUSE = max(0.0, float(os.environ.get("DDS_JOB_PAUSE", 0)))
# Generated image thumbnails (``datasets.image_files``); safe to delete, they are made again on use.
DDS_THUMBS_DIR = Path(os.environ.get("DDS_THUMBS_DIR", VAR_DIR / "thumbs"))
# Functions a dataset's ``description_func`` may name; nothing else is ever imported from the DB.
DDS_DESCRIPTION_FUNCS: dict[str, str] = {}

# Login throttling (accounts.throttle): failed logins per client address and per account name, counted in
# a store every server process shares: the Redis cache at DDS_CACHE_URL when set, else MongoDB.
DDS_LOGIN_RATE = os.environ.get("DDS_LOGIN_RATE", "10/minute")
DDS_LOGIN_ACCOUNT_RATE = os.environ.get("DDS_LOGIN_ACCOUNT_RATE", "30/hour")
# The number of reverse proxies in front of the server that append the client address to X-Forwarded-For;
# 0 ignores the header, which any client can write.
DDS_TRUSTED_PROXIES = max(0, int(os.environ.get("DDS_TRUSTED_PROXIES", "0")))
DDS_CACHE_URL = os.environ.get("DDS_CACHE_URL", "")
if DDS_CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DDS_CACHE_URL}}
# One user may be labeler and reviewer of the same task (and accept his own labels): for one-person teams.
DDS_ALLOW_SELF_REVIEW = env_bool("DDS_ALLOW_SELF_REVIEW")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves the admin's and the API browser's static files without DEBUG; with finders it
# needs no collectstatic step in development (run collectstatic for production).
WHITENOISE_USE_FINDERS = True

# Bounds on request input, so bad input is a 4xx and never reaches the database as a 500: the body size,
# how deeply its JSON may nest, and how many annotations and points it may carry per image.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DDS_MAX_REQUEST_BYTES", 2_621_440))
DDS_MAX_JSON_DEPTH = 32
DDS_MAX_OBJECTS_PER_IMAGE = int(os.environ.get("DDS_MAX_OBJECTS_PER_IMAGE", 2000))
DDS_MAX_POINTS_PER_OBJECT = int(os.environ.get("DDS_MAX_POINTS_PER_OBJECT", 2000))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "dds_site.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "dds_site.api.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dds_site.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "dds_site.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "DeepDataSpace API",
    "DESCRIPTION": "Datasets, annotations and collaborative labeling projects.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several choice sets share a field name ("status", "action"): name their enums after what they are.
    "ENUM_NAME_OVERRIDES": {
        "UserStatusEnum": "accounts.models.UserStatus",
        "DatasetStatusEnum": "datasets.models.DatasetStatus",
        "AcceptRejectEnum": "labeling.workflow.ReviewAction",
        "TaskStatusEnum": "labeling.workflow.TaskStatus",
        "ImportFormatEnum": "datasets.importers.manifest.FORMATS",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
