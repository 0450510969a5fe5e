"""The login limiter: failures in a window lock a name for a cool-down; success clears; case-folded."""

import pytest

from assistant.app.login_limit import LoginLimiter, TooManyLogins


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_name_then_the_cooldown_ends():
    clock = Clock()
    limiter = LoginLimiter(5, 60, 30, clock=clock)
    for _ in range(4):
        limiter.check("alice")
        limiter.failed("alice")
    limiter.check("alice")  # four failures: still allowed
    limiter.failed("ALICE ")  # the fifth, same name case-folded
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
    with pytest.raises(TooManyLogins):
        limiter.check("a")
