from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_delete


class Command(BaseCommand):
    help = "Delete a user and their tokens."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, **options):
        if not user_delete(options["name"]):
            raise CommandError(f"[404000] User {options['name']!r} not found.")
        self.stdout.write(f"deleted {options['name'].lower()}")
