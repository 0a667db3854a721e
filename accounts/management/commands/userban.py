from accounts.management.commands._base import UserCommand
from accounts.models import UserStatus
from accounts.services import user_set_status


class Command(UserCommand):
    help = "Ban a user: make them inactive and revoke their tokens."

    def handle_user(self, user, **options):
        user_set_status(user, UserStatus.INACTIVE)
        self.stdout.write(f"banned {user.name}")
