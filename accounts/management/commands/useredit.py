from accounts.management.commands._base import UserCommand
from accounts.services import user_set_staff


class Command(UserCommand):
    help = "Change a user's staff flag."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--staff", choices=["y", "n"], required=True)

    def handle_user(self, user, **options):
        user_set_staff(user, options["staff"] == "y")
        self.stdout.write(f"{user.name}: is_staff={user.is_staff}")
