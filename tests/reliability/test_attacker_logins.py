"""Logins attacked over the network, against a live ``align serve`` in login mode bound to every
address of this machine (``--host 0.0.0.0``) and trusting a reverse proxy on 127.0.0.1:

- over plain HTTP on a network address, a page on a sibling host can flood the browser's cookie store
  and plant its own login cookie, and the password crosses the network unencrypted: the login is
  refused there, in words, and a login cookie sent there logs nobody in. Over HTTPS (the trusted
  proxy's ``X-Forwarded-Proto``) and at 127.0.0.1 it works; an operator who sets
  ``allow_insecure_http_login`` gets plain-HTTP logins back, and the README names the risk;
- someone behind the same address (a NAT) who keeps failing to log in as a person locks out other
  browsers at that address, but not the browser the person logged in with before (its device cookie).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.serve import REPO, create_users, sqlite_url, start_server, stop, wait_ready
from tests.helpers.web import log_in

pytestmark = pytest.mark.timeout(600)

PLAIN = "This server asks for passwords over an unencrypted connection"
NAT = "198.51.100.7"  # the address a whole office shares
DEVICE = "align-device"


def _network_address() -> str:
    """An address of this machine that is not loopback (one a browser elsewhere would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no network address besides loopback")
    return address


def _serve(tmp: Path, env: dict[str, str]) -> tuple[Any, str, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    create_users(sqlite_url(tmp))
    full = {"ALIGN_SERVE_NICE": "0", "ALIGN_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]), **env}
    proc, url, log = start_server(tmp, host="0.0.0.0", extra_env=full)
    port = url.rsplit(":", 1)[1]
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}", log)
    except BaseException:
        stop(proc)
        raise
    return proc, port, log


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    address = _network_address()
    tmp = tmp_path_factory.mktemp("logins")
    proc, port, log = _serve(tmp, {})
    try:
        yield {
            "network": f"http://{address}:{port}",
            "local": f"http://127.0.0.1:{port}",
            "log": log,
            "database": sqlite_url(tmp),
        }
    finally:
        stop(proc)


def _session(answer: httpx.Response) -> str:
    """The ``Cookie`` header value of the session a login set."""
    for header in answer.headers.get_list("set-cookie"):
        pair = header.split(";", 1)[0]
        if (
            pair.split("=", 1)[0].removeprefix("__Host-").startswith("access-token-")
            and "unsecure" not in pair
        ):
            return pair
    raise AssertionError(f"no session cookie in {answer.headers.get_list('set-cookie')}")


def _device(answer: httpx.Response) -> str:
    """The device cookie (``name=value``) a successful login set."""
    found = [c.split(";", 1)[0] for c in answer.headers.get_list("set-cookie") if c.startswith(DEVICE + "=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0]


# -- plain HTTP -------------------------------------------------------------------------------------


def test_over_plain_http_on_a_network_address_the_login_is_refused_in_words(site: dict[str, Any]) -> None:
    network = site["network"]
    page = httpx.get(network + "/", timeout=30)
    assert page.status_code == 200 and PLAIN in page.text  # said above the login form, before typing
    assert "Log in with your ALIGN assistant" not in page.text
    answer = log_in(network, "alice")
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"].startswith(PLAIN) and "serve it over HTTPS" in answer.json()["detail"]
    assert not answer.headers.get_list("set-cookie")
    assert "over plain HTTP on another host name the login is refused" in site["log"].read_text()
    # the proxy header from an address that is not a trusted proxy is not believed
    forged = log_in(network, "alice", headers={"X-Forwarded-Proto": "https"})
    assert forged.status_code == 403
    # a login cookie planted for the network address (bob's, from a login elsewhere) logs nobody in
    bob = _session(log_in(site["local"], "bob"))
    assert httpx.get(site["local"] + "/gradio_api/user", headers={"Cookie": bob}).json() == "bob"
    planted = httpx.get(network + "/gradio_api/user", headers={"Cookie": bob}, timeout=30)
    assert planted.json() != "bob"
    call = httpx.post(
        network + "/gradio_api/call/whoami", json={"data": [{}]}, headers={"Cookie": bob}, timeout=30
    )
    assert call.status_code == 401, call.text


def test_over_https_through_the_trusted_proxy_and_at_localhost_the_login_works(site: dict[str, Any]) -> None:
    https = {"Host": "align.example.com", "X-Forwarded-Proto": "https"}
    answer = log_in(site["local"], "alice", headers=https)
    assert answer.status_code == 200, answer.text
    cookie = _session(answer)
    assert cookie.startswith("__Host-access-token-")
    me = httpx.get(site["local"] + "/gradio_api/user", headers={"Cookie": cookie, **https}, timeout=30)
    assert me.json() == "alice"
    local = log_in(site["local"], "alice")
    assert local.status_code == 200
    me = httpx.get(site["local"] + "/gradio_api/user", headers={"Cookie": _session(local)}, timeout=30)
    assert me.json() == "alice"


def test_with_the_operator_opt_in_plain_http_logins_work_and_the_readme_names_the_risk(
    tmp_path: Path,
) -> None:
    address = _network_address()
    proc, port, log = _serve(tmp_path / "data", {"ALIGN_ALLOW_INSECURE_HTTP_LOGIN": "true"})
    try:
        network = f"http://{address}:{port}"
        assert "passwords cross the network unencrypted" in log.read_text()
        answer = log_in(network, "alice")
        assert answer.status_code == 200, answer.text
        me = httpx.get(network + "/gradio_api/user", headers={"Cookie": _session(answer)}, timeout=30)
        assert me.json() == "alice"
    finally:
        stop(proc)
    readme = (REPO / "README.md").read_text()
    security = readme.split("## Security", 1)[1].split("\n## ", 1)[0]
    said = re.sub(r"\s+", " ", security)
    assert "`allow_insecure_http_login`" in said
    assert "unencrypted" in said and "log you in as someone else" in said


# -- lockout behind a shared address ------------------------------------------------------------------


def test_failures_behind_a_shared_address_do_not_lock_out_a_browser_that_logged_in_before(
    site: dict[str, Any],
) -> None:
    local = site["local"]
    behind_nat = {"X-Forwarded-For": NAT}
    # alice logged in from the office before: her browser keeps a device cookie (HttpOnly)
    first = log_in(local, "alice", headers=behind_nat)
    assert first.status_code == 200
    device = _device(first)
    attributes = next(c for c in first.headers.get_list("set-cookie") if c.startswith(DEVICE + "=")).lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    # a coworker's browser with a device cookie of its own, for bob
    bobs = _device(log_in(local, "bob", headers=behind_nat))
    # someone in the same office keeps guessing alice's password: that address is locked for alice
    for _ in range(5):
        assert log_in(local, "alice", "guess", headers=behind_nat).status_code == 400
    assert log_in(local, "alice", headers=behind_nat).status_code == 429
    # ... and so is a browser there without alice's device cookie, or with a forged or bob's one
    forged = device[:-3] + ("AAA" if not device.endswith("AAA") else "BBB")
    for cookie in (forged, bobs, DEVICE + "=garbage"):
        answer = log_in(local, "alice", headers={**behind_nat, "Cookie": cookie})
        assert answer.status_code == 429, (cookie, answer.text)
    # alice's own browser still logs in, and gets a fresh device cookie
    again = log_in(local, "alice", headers={**behind_nat, "Cookie": device})
    assert again.status_code == 200, again.text
    device = _device(again)
    # a device cookie is no free pass for guessing: wrong passwords lock that browser too
    stolen = _device(log_in(local, "alice", headers={"X-Forwarded-For": "203.0.113.9"}))
    for _ in range(5):
        assert log_in(local, "alice", "guess", headers={**behind_nat, "Cookie": stolen}).status_code == 400
    assert log_in(local, "alice", headers={**behind_nat, "Cookie": stolen}).status_code == 429
    assert log_in(local, "alice", headers={**behind_nat, "Cookie": device}).status_code == 200


def test_a_password_reset_ends_the_exemption_of_browsers_that_logged_in_before(site: dict[str, Any]) -> None:
    """A device cookie is bound to the account's session stamp: after an admin's reset (or a
    password change) the browsers that logged in before are limited per address like any other, so
    a thief's browser keeps no exemption; the browser that logs in with the new password gets one."""
    from profiles.schemas import UserCreate
    from profiles.store import open_store

    local, office = site["local"], {"X-Forwarded-For": "198.51.100.77"}
    store = open_store(site["database"])
    try:
        admin = store.users.actor("root")
        store.users.add(admin, UserCreate(name="carol", password="carol-password", role="user"))
        first = log_in(local, "carol", "carol-password", headers=office)
        assert first.status_code == 200, first.text
        before = _device(first)
        store.users.set_password(admin, "carol", "carol-new-password")
    finally:
        store.close()
    for _ in range(5):
        assert log_in(local, "carol", "guess", headers=office).status_code == 400
    # the cookie from before the reset is no longer an exemption: the office address is locked
    answer = log_in(local, "carol", "carol-new-password", headers={**office, "Cookie": before})
    assert answer.status_code == 429, answer.text
    # a login elsewhere with the new password gets a cookie that is one
    after = _device(log_in(local, "carol", "carol-new-password", headers={"X-Forwarded-For": "203.0.113.77"}))
    answer = log_in(local, "carol", "carol-new-password", headers={**office, "Cookie": after})
    assert answer.status_code == 200, answer.text
