"""The login limiter: failures in a window lock a (name, address) for a cool-down that doubles;
success clears; names compared exactly, as accounts are. The address limiter counts failures of one
address whatever the names; password checks at once are capped, the rest refused at once."""

import threading
import time

import pytest

from assistant.app.login_limit import (
    AddressLimiter,
    LoginLimiter,
    LoginsBusy,
    PasswordChecks,
    TooManyFromAddress,
    TooManyLogins,
)
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


def test_failures_with_made_up_names_lock_the_address_and_no_other():
    clock = Clock()
    limiter = AddressLimiter(max_failures=10, window_s=600, cooldown_s=300, clock=clock, max_cooldown_s=900)
    for _ in range(9):
        limiter.check("198.51.100.7")
        limiter.failed("198.51.100.7")
    limiter.check("198.51.100.7")  # nine: still allowed
    limiter.failed("198.51.100.7")
    with pytest.raises(
        TooManyFromAddress, match=r"too many failed logins from your network address; wait 5 minutes"
    ):
        limiter.check("198.51.100.7")
    limiter.check("203.0.113.9")  # another address is not affected
    clock.now += 299
    with pytest.raises(TooManyLogins, match="wait 1 s"):  # the same family: answered 429 alike
        limiter.check("198.51.100.7")
    clock.now += 1.5
    limiter.check("198.51.100.7")
    for _ in range(10):  # the next lock lasts twice as long
        limiter.failed("198.51.100.7")
    with pytest.raises(TooManyFromAddress, match="wait 10 minutes") as refused:
        limiter.check("198.51.100.7")
    assert "--" not in str(refused.value) and "ALIGN_" not in str(refused.value)


def test_address_failures_spread_wider_than_the_window_never_lock():
    clock = Clock()
    limiter = AddressLimiter(max_failures=3, window_s=60, cooldown_s=60, clock=clock)
    for _ in range(20):  # one every 31 s: never three within a minute (an office's typing errors)
        limiter.failed("198.51.100.7")
        limiter.check("198.51.100.7")
        clock.now += 31


def test_password_checks_past_the_cap_wait_a_little_then_are_refused_and_counted_when_they_ran():
    checks = PasswordChecks(2, wait_s=0.3, max_waiting=1)
    inside, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with checks.slot():
            inside.wait(timeout=10)
            release.wait(timeout=10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    inside.wait(timeout=10)  # both slots taken
    started = time.monotonic()
    with (
        pytest.raises(LoginsBusy, match=r"^too many sign-ins at once; try again in a moment$"),
        checks.slot(),
    ):
        raise AssertionError("a third check ran while two were running")
    assert 0.25 <= time.monotonic() - started < 5  # it waited for a slot, then gave up
    release.set()
    for thread in holders:
        thread.join(timeout=10)
    assert checks.done == 2
    with checks.slot():  # free again
        pass
    assert checks.done == 3
    with pytest.raises(ValueError):
        PasswordChecks(0)


def test_a_login_that_finds_the_checks_taken_gets_the_next_free_one_and_only_so_many_wait():
    """People who sign in at the same moment are all let in; a crowd past the waiting room is not."""
    checks = PasswordChecks(1, wait_s=5.0, max_waiting=1)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with checks.slot():
            taken.set()
            release.wait(timeout=10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(timeout=10)
    results: list[str] = []

    def wait_for_one() -> None:
        try:
            with checks.slot():
                results.append("checked")
        except LoginsBusy:
            results.append("busy")

    waiter = threading.Thread(target=wait_for_one)
    waiter.start()
    deadline = time.monotonic() + 5
    while checks._waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(LoginsBusy), checks.slot():  # the one waiting place is taken: refused at once
        pass
    assert time.monotonic() - started < 1
    release.set()
    for thread in (holder, waiter):
        thread.join(timeout=10)
    assert results == ["checked"] and checks.done == 2
