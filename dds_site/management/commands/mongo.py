from django.core.management.base import BaseCommand

from dds_site import mongo


class Command(BaseCommand):
    help = "Manage the embedded MongoDB server used when MONGODB_URI is unset: status, start or stop."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "start", "stop"])

    def handle(self, *args, action: str, **options):
        if action == "status":
            server = mongo.recorded_server()
            if server:
                self.stdout.write(f"running: pid {server.pid}, {server.uri}, data in {mongo.STORAGE_DIR}")
            else:
                self.stdout.write("not running")
        elif action == "start":
            server = mongo.ensure_embedded_server()
            self.stdout.write(f"running: pid {server.pid}, {server.uri}")
        elif mongo.stop_embedded_server():
            self.stdout.write("stopped")
        else:
            self.stdout.write("not running")
