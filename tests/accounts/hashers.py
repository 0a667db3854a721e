from tests.fast_hashers import FastPBKDF2PasswordHasher

encode_calls: list[str] = []


class CountingPBKDF2PasswordHasher(FastPBKDF2PasswordHasher):
    """The tests' PBKDF2 hasher, recording every hash it computes (verifying a password computes one too)."""

    def encode(self, password, salt, iterations=None):
        encode_calls.append(password)
        return super().encode(password, salt, iterations)
