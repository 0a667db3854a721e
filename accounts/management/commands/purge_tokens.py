from django.core.management.base import BaseCommand

from accounts.services import tokens_purge_expired
from accounts.throttle_store import counters_purge_expired


class Command(BaseCommand):
    help = "Delete expired API tokens and expired login counters (run it from cron or a periodic job)."

    def handle(self, *args, **options):
        tokens = tokens_purge_expired()
        counters = counters_purge_expired()
        self.stdout.write(f"deleted {tokens} expired token(s) and {counters} expired login counter(s)")
