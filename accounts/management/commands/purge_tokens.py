from django.core.management.base import BaseCommand

from accounts.services import tokens_purge_expired


class Command(BaseCommand):
    help = "Delete expired API tokens (run it from cron or a periodic job)."

    def handle(self, *args, **options):
        self.stdout.write(f"deleted {tokens_purge_expired()} expired token(s)")
