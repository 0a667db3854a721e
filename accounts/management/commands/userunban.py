from accounts.management.commands._base import UserCommand
from accounts.models import UserStatus
from accounts.services import user_set_status


class Command(UserCommand):
    help = "Unban a user."

    def handle_user(self, user, **options):
        user_set_status(user, UserStatus.ACTIVE)
        self.stdout.write(f"unbanned {user.name}")
