from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Production's algorithm with few iterations, so tests that create many users stay fast."""

    iterations = 1000
