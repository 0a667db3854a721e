import os

from django.core.wsgi import get_wsgi_application

from dds_site.mongo import configure_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
configure_environment()
application = get_wsgi_application()
