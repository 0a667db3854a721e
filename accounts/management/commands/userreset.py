from accounts.management.commands._base import UserCommand
from accounts.services import user_reset_password


class Command(UserCommand):
    help = "Give a user a new random password (printed once) and revoke their tokens."

    def handle_user(self, user, **options):
        password = user_reset_password(user)
        self.stdout.write(f"username: {user.name}\npassword: {password}")
