"""Device tokens: issued for a user, verified only with the key that signed them, within their age."""

import os

from assistant.app.device_tokens import DeviceTokens
from tests.helpers.clock import Clock


def test_a_token_names_its_user_and_a_new_device_each_time():
    tokens = DeviceTokens(b"k" * 32)
    first, second = tokens.issue("alice"), tokens.issue("alice")
    one, two = tokens.verify(first), tokens.verify(second)
    assert one is not None and two is not None
    assert one.user == two.user == "alice" and one.device_id != two.device_id
    assert tokens.verify(tokens.issue("ünï.code name")).user == "ünï.code name"  # type: ignore[union-attr]


def test_forged_altered_foreign_and_old_tokens_are_refused():
    clock = Clock(1_000_000.0)
    tokens = DeviceTokens(b"k" * 32, clock=clock, max_age_s=100)
    token = tokens.issue("alice")
    user, device, issued, signature = token.split(".")
    bob = tokens.issue("bob").split(".")[0]
    for bad in (
        f"{bob}.{device}.{issued}.{signature}",  # another user's name under alice's signature
        f"{user}.{device}.{int(issued) + 1}.{signature}",
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "garbage",
        "a.b.c.d",
        "",
    ):
        assert tokens.verify(bad) is None, bad
    assert DeviceTokens(b"x" * 32, clock=clock).verify(token) is None  # another server's key
    clock.now += 101
    assert tokens.verify(token) is None


def test_the_key_is_kept_readable_by_the_server_only(tmp_path):
    path = tmp_path / "app" / "device-key"
    token = DeviceTokens.from_file(path).issue("alice")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert DeviceTokens.from_file(path).verify(token) is not None  # survives a restart


def test_a_token_is_bound_to_the_session_stamp_it_was_issued_under():
    """The stamp moves when the password or the role changes: a token issued before no longer
    verifies, nor one for a user who is gone (no stamp)."""
    tokens = DeviceTokens(b"k" * 32)
    stamps = {"alice": "1.2026-01-01T00:00:00.1"}
    token = tokens.issue("alice", stamps["alice"])
    assert tokens.verify(token, stamps.get) is not None
    stamps["alice"] = "1.2026-01-01T00:00:00.2"  # a password change or an admin's reset
    assert tokens.verify(token, stamps.get) is None
    assert tokens.verify(token, lambda _: None) is None  # the user was deleted
    assert tokens.verify(tokens.issue("alice", stamps["alice"]), stamps.get) is not None
