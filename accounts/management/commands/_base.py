"""Shared pieces of the user commands."""

from __future__ import annotations

from abc import abstractmethod

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import user_require
from dds_site.errors import DDSError


class UserCommand(BaseCommand):
    """A command acting on one user named on the command line."""

    def add_arguments(self, parser):
        parser.add_argument("name", help="User name (any case).")

    def handle(self, *args, **options):
        try:
            self.handle_user(user_require(options["name"]), **options)
        except DDSError as exc:
            raise CommandError(str(exc)) from exc

    @abstractmethod
    def handle_user(self, user: User, **options) -> None:
        """Act on the user; subclasses define it."""
