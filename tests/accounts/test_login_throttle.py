"""Login throttling: failed logins only, per client address and per account, in a store all processes share."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts import throttle, throttle_store
from accounts.errors import LoginThrottled
from accounts.models import LoginCounter
from accounts.throttle import LoginThrottle, Rate
from accounts.throttle_store import CacheCounterStore, MongoCounterStore, counter_store
from tests.accounts import hashers

LOGIN = "/api/v1/auth/login"


def _login(client, name: str, password: str, **meta):
    return client.post(LOGIN, {"username": name, "password": password}, format="json", **meta)


@pytest.fixture
def rates(settings, frozen_time):
    """Sets the login rates (``rates(client="5/minute")``); the throttle's clock stands still meanwhile."""

    def set_rates(client: str = "10/minute", account: str = "1000/hour"):
        settings.DDS_LOGIN_RATE = client
        settings.DDS_LOGIN_ACCOUNT_RATE = account

    set_rates()
    return set_rates


def test_failed_logins_end_in_429_with_the_envelope_and_retry_after(make_user, api_client, rates, frozen_time):
    make_user("eve")
    frozen_time.now += 45
    assert [_login(api_client, "eve", "bad").status_code for _ in range(10)] == [403] * 10
    response = _login(api_client, "eve", "eve-pw-123")  # the right password no longer helps
    assert response.status_code == 429
    assert response.json() == {
        "code": 429000,
        "message": "Too many failed logins; try again later.",
        "detail": {"retry_after": 15},
    }
    assert response["Retry-After"] == "15"
    frozen_time.now += 15  # the next window
    assert _login(api_client, "eve", "eve-pw-123").status_code == 200


def test_counts_survive_a_fresh_process(make_user, api_client, rates, monkeypatch):
    """Another worker has its own memory: a fresh cache and store must not reset the count."""
    make_user("eve")
    for _ in range(10):
        _login(api_client, "eve", "bad")
    cache.clear()
    monkeypatch.setattr(throttle_store, "mongo_store", MongoCounterStore())
    assert _login(api_client, "eve", "bad").status_code == 429


def test_two_throttles_with_their_own_stores_share_counts(db, rates):
    first, second = LoginThrottle(MongoCounterStore()), LoginThrottle(MongoCounterStore())
    for index in range(10):
        (first if index % 2 else second).begin(client="10.0.0.1", username="eve")
    with pytest.raises(LoginThrottled):
        first.begin(client="10.0.0.1", username="eve")
    with pytest.raises(LoginThrottled):
        second.begin(client="10.0.0.1", username="eve")


def test_rotating_x_forwarded_for_does_not_help_without_trusted_proxies(make_user, api_client, rates):
    make_user("eve")
    codes = [_login(api_client, "eve", "bad", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(11)]
    assert codes == [403] * 10 + [429]


def test_one_trusted_proxy_gives_the_address_it_appended(make_user, api_client, rates, settings):
    settings.DDS_TRUSTED_PROXIES = 1
    make_user("eve")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    spoofed = [
        _login(api_client, "eve", "bad", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.5", **proxy).status_code
        for i in range(11)
    ]
    assert spoofed == [403] * 10 + [429]  # entries left of the proxy's own are the client's claim
    other = _login(api_client, "eve", "bad", HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy)
    assert other.status_code == 403


def test_client_address_counts_proxies_from_the_right(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 3.3.3.3", REMOTE_ADDR="10.0.0.9")
    expected = {0: "10.0.0.9", 1: "3.3.3.3", 2: "2.2.2.2", 3: "1.1.1.1", 5: "1.1.1.1"}
    for proxies, address in expected.items():
        settings.DDS_TRUSTED_PROXIES = proxies
        assert throttle.client_address(request) == address
    settings.DDS_TRUSTED_PROXIES = 1
    assert throttle.client_address(rf.get("/", REMOTE_ADDR="10.0.0.9")) == "10.0.0.9"


def test_each_account_has_its_own_limit_across_addresses(make_user, api_client, rates):
    rates(client="1000/minute", account="3/hour")
    make_user("eve")
    make_user("bob")
    codes = [_login(api_client, "eve", "bad", REMOTE_ADDR=f"10.0.0.{i}").status_code for i in range(4)]
    assert codes == [403, 403, 403, 429]
    assert _login(api_client, "EVE", "eve-pw-123", REMOTE_ADDR="10.0.1.1").status_code == 429
    assert _login(api_client, "bob", "bob-pw-123", REMOTE_ADDR="10.0.0.1").status_code == 200
    # An unknown name is limited exactly like a known one: the limit does not tell which names exist.
    codes = [_login(api_client, "ghost", "bad", REMOTE_ADDR=f"10.0.2.{i}").status_code for i in range(4)]
    assert codes == [403, 403, 403, 429]


def test_successful_logins_do_not_count(make_user, api_client, rates):
    rates(client="5/minute")
    names = [f"user{index}" for index in range(6)]
    for name in names:
        make_user(name)
    for _ in range(2):
        assert [_login(api_client, name, f"{name}-pw-123").status_code for name in names] == [200] * 6
    assert [_login(api_client, "user0", "bad").status_code for _ in range(6)] == [403] * 5 + [429]


def test_parallel_attempts_cannot_overrun_the_limit(db, rates):
    rates(client="5/minute")
    outcomes: list[bool] = []
    start = threading.Barrier(12)

    def attempt():
        start.wait()
        try:
            LoginThrottle(MongoCounterStore()).begin(client="10.0.0.1", username="eve")
            outcomes.append(True)
        except LoginThrottled:
            outcomes.append(False)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True] * 5


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingPBKDF2PasswordHasher"]
    hashers.encode_calls.clear()
    return hashers.encode_calls


def test_unknown_and_banned_users_cost_a_hash_like_a_wrong_password(make_user, api_client, rates, counting_hasher):
    make_user("eve")
    make_user("dan").ban_user()
    costs = {}
    for name in ("eve", "nobody", "dan"):
        counting_hasher.clear()
        assert _login(api_client, name, "wrong-password").status_code == 403
        costs[name] = counting_hasher.count("wrong-password")
    assert costs == {"eve": 1, "nobody": 1, "dan": 1}


def test_admin_login_is_throttled_too(make_user, client, rates):
    rates(client="3/minute")
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(3):
        page = client.post("/admin/login/", {"username": "root", "password": "bad"})
        assert b"Please enter the correct" in page.content
    page = client.post("/admin/login/", {"username": "root", "password": "root-pw-123"})
    assert page.status_code == 200
    assert b"Too many failed logins" in page.content
    assert client.get("/admin/").status_code == 302


def test_admin_login_success_does_not_count(make_user, client, rates):
    rates(client="2/minute")
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(3):
        assert client.post("/admin/login/", {"username": "ROOT", "password": "root-pw-123"}).status_code == 302
        assert client.get("/admin/").status_code == 200
        client.logout()


def test_cache_store_counts_like_the_mongo_store(rates, frozen_time):
    store = CacheCounterStore(LocMemCache("throttle-test", {}))
    guard = LoginThrottle(store)
    attempts = [guard.begin(client="10.0.0.1", username="eve") for _ in range(10)]
    with pytest.raises(LoginThrottled):
        guard.begin(client="10.0.0.1", username="eve")
    attempts[0].succeeded()
    guard.begin(client="10.0.0.1", username="eve")


def test_a_configured_cache_url_moves_the_counters_to_the_cache(db, settings):
    assert isinstance(counter_store(), MongoCounterStore)
    settings.DDS_CACHE_URL = "redis://127.0.0.1:6379/0"
    assert isinstance(counter_store(), CacheCounterStore)


def test_purge_tokens_deletes_expired_counters(db, rates, frozen_time):
    LoginCounter.objects.create(id="login:client:old:0", hits=3, expire=1)
    LoginThrottle().begin(client="10.0.0.1", username="eve")
    output = io.StringIO()
    call_command("purge_tokens", stdout=output)
    assert "0 expired token(s) and 1 expired login counter(s)" in output.getvalue()
    assert LoginCounter.objects.count() == 2  # this window's client and account counters


@pytest.mark.parametrize("text", ["", "10", "ten/minute", "0/minute", "10/fortnight", "10/"])
def test_bad_rates_are_refused_clearly(text):
    with pytest.raises(ImproperlyConfigured, match="10/minute"):
        Rate.parse(text, "DDS_LOGIN_RATE")


def test_rates_in_drf_notation():
    assert Rate.parse("10/minute", "X") == Rate(10, 60)
    assert Rate.parse("30/hour", "X") == Rate(30, 3600)
    assert Rate.parse("5/s", "X") == Rate(5, 1)
    assert Rate.parse("100/day", "X") == Rate(100, 86400)
