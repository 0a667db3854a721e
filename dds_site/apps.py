from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth import apps as auth_apps
from django.contrib.contenttypes import apps as contenttypes_apps

MONGO_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(admin_apps.AdminConfig):
    default = False
    default_auto_field = MONGO_AUTO_FIELD


class MongoAuthConfig(auth_apps.AuthConfig):
    default = False
    default_auto_field = MONGO_AUTO_FIELD


class MongoContentTypesConfig(contenttypes_apps.ContentTypesConfig):
    default = False
    default_auto_field = MONGO_AUTO_FIELD


class DDSSiteConfig(AppConfig):
    default = True
    name = "dds_site"
    verbose_name = "DDS site"
