"""Login throttling: failed logins are counted per client address and per account name over fixed windows.

Every attempt takes one from both budgets before the password is checked, so parallel attempts cannot overrun a
limit; a successful login gives them back, so only failures count. An attempt over either limit is refused with
429 without checking the password (and takes nothing). Unknown account names are counted like known ones, so a
limit answers the same whether or not the account exists.

The client address is ``REMOTE_ADDR``; ``X-Forwarded-For`` is read only when ``DDS_TRUSTED_PROXIES`` says how many
proxies in front of the server append to it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from accounts.errors import LoginThrottled
from accounts.throttle_store import CounterStore, counter_store
from accounts.tokens import now_s

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*([smhd])[a-z]*\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    window_s: int

    @classmethod
    def parse(cls, text: str, setting: str) -> Rate:
        """``"10/minute"`` (DRF's notation: a count, a slash, then second, minute, hour or day)."""
        match = RATE_PATTERN.match(text or "")
        if match is None or int(match.group(1)) < 1:
            raise ImproperlyConfigured(f'{setting} must look like "10/minute" (s, m, h or d), not {text!r}.')
        return cls(int(match.group(1)), PERIODS[match.group(2)])


def client_address(request: HttpRequest) -> str:
    """The address of the client, as far as the trusted proxies in front of the server say.

    With ``DDS_TRUSTED_PROXIES = n > 0``, each of the ``n`` proxies appended the address it received from to
    ``X-Forwarded-For``, so the client is the n-th entry from the right; anything left of it is the client's own
    claim and is ignored. With 0 (the default) the header is ignored altogether.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.DDS_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def _key(scope: str, identity: str, window_start: int) -> str:
    # Hashed: the store keeps no addresses or names, and keys stay short.
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"login:{scope}:{digest}:{window_start}"


@dataclass
class LoginAttempt:
    """An attempt that holds one unit of each budget until it succeeds."""

    store: CounterStore
    keys: list[str] = field(default_factory=list)

    def succeeded(self) -> None:
        """Give the units back: successful logins do not count."""
        for key in self.keys:
            self.store.decrement(key)
        self.keys = []


class LoginThrottle:
    def __init__(self, store: CounterStore | None = None) -> None:
        self.store = store or counter_store()

    def begin(self, *, client: str, username: str) -> LoginAttempt:
        """Take one failure from the client's and the account's budget; raise ``LoginThrottled`` when either
        is spent (taking nothing then)."""
        now = now_s()
        budgets = [
            ("client", client, Rate.parse(settings.DDS_LOGIN_RATE, "DDS_LOGIN_RATE")),
            (
                "account",
                username.strip().lower(),
                Rate.parse(settings.DDS_LOGIN_ACCOUNT_RATE, "DDS_LOGIN_ACCOUNT_RATE"),
            ),
        ]
        attempt = LoginAttempt(self.store)
        retry_after = 0
        for scope, identity, rate in budgets:
            window_start = now - now % rate.window_s
            key = _key(scope, identity, window_start)
            attempt.keys.append(key)
            if self.store.increment(key, window_start + rate.window_s) > rate.limit:
                retry_after = max(retry_after, window_start + rate.window_s - now)
        if retry_after:
            attempt.succeeded()  # nothing was checked, so nothing counts
            raise LoginThrottled(retry_after=max(1, retry_after))
        return attempt
