#!/usr/bin/env python
"""Django's command-line utility; starts the embedded MongoDB when MONGODB_URI is unset."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
    if sys.argv[1:2] != ["mongo"]:
        from dds_site.mongo import configure_environment

        configure_environment()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
