"""Login floods against a live ``align serve`` in login mode (trusting a reverse proxy on 127.0.0.1,
so each attacker or office is a ``X-Forwarded-For`` address):

- a stranger who makes up a new user name for every attempt is limited per address whatever the
  names: past the limit each attempt is refused (HTTP 429, in words) before any password is checked,
  so the flood costs the server little CPU (measured on the server process against the cost of one
  password check); the browser a person logged in with before at that address, and another person at
  another address, still log in;
- many attempts at once from many addresses: only a few password checks run at the same time, a few
  more wait a moment for one, the rest are refused at once ("too many sign-ins at once").
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.serve import create_users, sqlite_url, start_server, stop, wait_ready
from tests.helpers.web import log_in

pytestmark = pytest.mark.timeout(600)

LIMIT = 15  # failed logins per address (whatever the names) before it is locked, for this server
FLOOD = 120  # attempts of the flood
WORKERS = 2  # within the cap on checks at once (the next test floods past it)
ATTACKER = "198.51.100.50"
DEVICE = "align-device"
BUSY = "too many sign-ins at once; try again in a moment"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("login-flood")
    create_users(sqlite_url(tmp))
    env = {
        "ALIGN_SERVE_NICE": "0",
        "ALIGN_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "ALIGN_LOGIN_ADDRESS_MAX_FAILURES": str(LIMIT),
    }
    proc, url, log = start_server(tmp, extra_env=env)
    try:
        wait_ready(proc, url, log)
        yield {"url": url, "pid": proc.pid, "log": log}
    finally:
        stop(proc)


def _cpu_s(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_check_s() -> float:
    """What one password check costs here (the server's hasher and parameters, this machine)."""
    from profiles.passwords import verify_password

    verify_password(None, "x")  # the dummy hash is made once
    started = time.process_time()
    for _ in range(3):
        verify_password(None, "x")
    return (time.process_time() - started) / 3


def _made_up(url: str, address: str) -> tuple[int, float, str]:
    started = time.monotonic()
    answer = log_in(url, "u" + uuid.uuid4().hex[:12], "x", headers={"X-Forwarded-For": address})
    detail = answer.json().get("detail", "") if answer.status_code == 429 else ""
    return answer.status_code, time.monotonic() - started, str(detail)


def test_a_flood_of_made_up_names_is_refused_before_hashing_and_known_browsers_still_log_in(
    site: dict[str, Any],
) -> None:
    url = site["url"]
    office = {"X-Forwarded-For": ATTACKER}
    # alice logged in from this address before: her browser keeps a device cookie
    first = log_in(url, "alice", headers=office)
    assert first.status_code == 200, first.text
    device = next(
        c.split(";", 1)[0] for c in first.headers.get_list("set-cookie") if c.startswith(DEVICE + "=")
    )
    cost = _one_check_s()
    cpu_before = _cpu_s(site["pid"])
    with ThreadPoolExecutor(WORKERS) as pool:
        answers = list(pool.map(lambda _: _made_up(url, ATTACKER), range(FLOOD)))
    cpu = _cpu_s(site["pid"]) - cpu_before
    checked = [a for a in answers if a[0] == 400]
    refused = [a for a in answers if a[0] == 429]
    assert len(checked) + len(refused) == FLOOD, sorted({a[0] for a in answers})
    # past the limit (plus the attempts already in flight when it was reached) nothing is checked
    assert len(checked) <= LIMIT + WORKERS, (len(checked), len(refused))
    assert any(a[2].startswith("too many failed logins from your network address; wait ") for a in refused), {
        a[2] for a in refused
    }
    assert all("--" not in a[2] and "ALIGN_" not in a[2] for a in refused)
    # so the flood cost the server far less than a password check per attempt
    assert cpu < 0.5 * FLOOD * cost, f"the flood took {cpu:.1f} s of CPU; one check costs {cost:.3f} s"
    assert statistics.median(a[1] for a in refused) < 2.0
    # alice's own browser at that address still logs in, and bob from elsewhere
    again = log_in(url, "alice", headers={**office, "Cookie": device})
    assert again.status_code == 200, again.text
    assert log_in(url, "bob", headers={"X-Forwarded-For": "203.0.113.60"}).status_code == 200
    # anyone else at the locked address is refused, in words, even with a right password
    locked = log_in(url, "bob", headers=office)
    assert locked.status_code == 429 and "network address" in locked.json()["detail"]


def test_logins_at_once_from_many_addresses_past_the_cap_are_refused_at_once(site: dict[str, Any]) -> None:
    url, count = site["url"], 16
    start = threading.Barrier(count)

    def attempt(i: int) -> tuple[int, float, str]:
        start.wait(timeout=30)
        return _made_up(url, f"192.0.2.{100 + i}")  # each from an address of its own

    cpu_before = _cpu_s(site["pid"])
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(attempt, range(count)))
    cpu = _cpu_s(site["pid"]) - cpu_before
    busy = [a for a in answers if a[0] == 429 and a[2] == BUSY]
    checked = [a for a in answers if a[0] == 400]
    assert len(busy) + len(checked) == count, answers
    assert busy, f"all {count} attempts at once were checked ({cpu:.1f} s of CPU)"
    # refused without waiting for the checks that run: sooner than those are answered
    assert statistics.median(a[1] for a in busy) < statistics.median(a[1] for a in checked)
