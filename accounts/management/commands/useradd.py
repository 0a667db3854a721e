from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_create
from accounts.staff_group import STAFF_GROUP, staff_group_join
from dds_site.errors import DDSError


class Command(BaseCommand):
    help = "Create a user with a random password and print the password once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--staff", action="store_true", help=f"Make the user staff, a member of the {STAFF_GROUP!r} admin group."
        )

    def handle(self, *args, **options):
        try:
            user = user_create(options["name"], is_staff=options["staff"])
        except DDSError as exc:
            raise CommandError(str(exc)) from exc
        if user.is_staff:
            staff_group_join(user)
        self.stdout.write(f"username: {user.name}\npassword: {user.plain_password}")
