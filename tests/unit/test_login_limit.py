"""The login limiter: failures in a window lock a (name, address) for a cool-down that doubles;
success clears; names compared exactly, as accounts are."""

import pytest

from assistant.app.login_limit import LoginLimiter, TooManyLogins
from tests.helpers.clock import Clock


def test_five_failures_lock_the_name_then_the_cooldown_ends():
    clock = Clock()
    limiter = LoginLimiter(5, 60, 30, clock=clock)
    for _ in range(4):
        limiter.check("alice")
        limiter.failed("alice")
    limiter.check("alice")  # four failures: still allowed
    limiter.failed("ALICE")  # another name (accounts are case-sensitive): not alice's fifth
    limiter.check("alice")
    limiter.failed("alice")  # the fifth
    with pytest.raises(TooManyLogins, match=r"too many failed logins for 'alice'; wait 30 s"):
        limiter.check("alice")
    limiter.check("bob")  # other names are not affected
    clock.now += 29
    with pytest.raises(TooManyLogins, match="wait 1 s"):
        limiter.check("alice")
    clock.now += 1.5
    limiter.check("alice")


def test_failures_outside_the_window_do_not_count_and_success_clears():
    clock = Clock()
    limiter = LoginLimiter(3, 10, 10, clock=clock)
    limiter.failed("a")
    limiter.failed("a")
    clock.now += 11  # both fell out of the window
    limiter.failed("a")
    limiter.failed("a")
    limiter.check("a")
    limiter.succeeded("a")
    limiter.failed("a")
    limiter.failed("a")
    limiter.check("a")
    limiter.failed("a")
    with pytest.raises(TooManyLogins, match="too many failed logins for 'a'; wait 10 s"):
        limiter.check("a")


def test_the_lock_is_per_address_so_a_stranger_cannot_lock_the_admin_out():
    clock = Clock()
    limiter = LoginLimiter(3, 60, 30, clock=clock)
    for _ in range(3):
        limiter.failed("admin", "203.0.113.9")
    with pytest.raises(TooManyLogins, match="too many failed logins for 'admin'; wait 30 s"):
        limiter.check("admin", "203.0.113.9")
    limiter.check("admin", "198.51.100.4")  # the admin elsewhere
    limiter.check("admin")  # and an unknown address is its own key


def test_each_further_lock_doubles_up_to_the_maximum():
    clock = Clock()
    limiter = LoginLimiter(2, 60, 10, clock=clock, max_cooldown_s=35)
    waits = []
    for _ in range(4):
        limiter.failed("a", "x")
        limiter.failed("a", "x")
        with pytest.raises(TooManyLogins, match=r"too many failed logins for 'a'; wait \d+ s") as caught:
            limiter.check("a", "x")
        waits.append(round(caught.value.wait_s))
        clock.now += caught.value.wait_s + 0.1
        limiter.check("a", "x")
    assert waits == [10, 20, 35, 35]
    limiter.succeeded("a", "x")  # a success starts over
    limiter.failed("a", "x")
    limiter.failed("a", "x")
    with pytest.raises(TooManyLogins, match="wait 10 s"):
        limiter.check("a", "x")


def test_memory_is_bounded_by_forgetting_quiet_pairs(monkeypatch):
    from assistant.app import login_limit

    monkeypatch.setattr(login_limit, "MAX_KEYS", 50)
    clock = Clock()
    limiter = LoginLimiter(5, 10, 10, clock=clock)
    for i in range(60):
        limiter.failed(f"n{i}", "x")
    clock.now += 11
    limiter.failed("last", "x")
    assert limiter.tracked() <= 2


def test_a_name_longer_than_any_account_is_kept_small_and_shown_short():
    """A stranger posting megabyte user names: each is remembered as a digest, and the refusal does
    not echo it; a name an account may have is kept as it is."""
    limiter = LoginLimiter(max_failures=2)
    huge = "Z" * 900_000
    for _ in range(2):
        limiter.failed(huge, "198.51.100.7")
    limiter.failed("a" * 64, "198.51.100.7")
    assert limiter.tracked() == 2
    assert sum(len(name) for name, _ in limiter._pairs) < 64 + 100
    assert ("a" * 64, "198.51.100.7") in limiter._pairs
    with pytest.raises(TooManyLogins) as refused:
        limiter.check(huge, "198.51.100.7")
    assert len(str(refused.value)) < 200
    limiter.check("Z" * 899_999, "198.51.100.7")  # another long name is another key
