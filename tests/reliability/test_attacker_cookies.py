"""The repeat probe's web-edge findings, attacked with raw HTTP and real login cookies against a live
``align serve`` in login mode (users root, alice, bob) that trusts a reverse proxy on 127.0.0.1:

- a login cookie sent twice (a sibling site planted one: cookie tossing) logs nobody in; over HTTPS
  (the proxy's ``X-Forwarded-Proto: https``) the login cookie is a ``__Host-`` cookie and a plain one,
  which any sibling host could set, is ignored;
- the session binding reads ``session_hash`` as Gradio does, and a repeated ``session_hash`` (query
  or JSON key) or ``event_id`` is refused;
- JSON nested thousands deep is a 400 on every JSON route, never a 500 or a traceback;
- the outer app's API description is not served, and Gradio's stream routes need a login;
- the event stream of a session or event the queue does not hold is a plain 404, with no traceback in
  the server's log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.serve import new_site, serving, start_server
from tests.helpers.store import new_api_key
from tests.helpers.web import log_in

pytestmark = pytest.mark.timeout(600)

HTTPS = {"X-Forwarded-Proto": "https"}
TWICE = "set twice"
DEEP = b"[" * 3000 + b"]" * 3000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data, database_url = new_site(tmp_path_factory, "cookies")
    env = {"ALIGN_SERVE_NICE": "0", "ALIGN_TRUSTED_PROXIES": json.dumps(["127.0.0.1"])}
    with serving(start_server(data, extra_env=env)) as app:
        yield {"url": app.url, "log": app.log, "db": database_url}


def _login(url: str, name: str, **headers: str) -> httpx.Response:
    answer = log_in(url, name, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def _token(answer: httpx.Response) -> tuple[str, str]:
    """(cookie name, token) of the session cookie a login set."""
    for header in answer.headers.get_list("set-cookie"):
        name, value = header.split(";", 1)[0].split("=", 1)
        if name.removeprefix("__Host-").startswith("access-token-") and "unsecure" not in name:
            return name, value
    raise AssertionError(f"no session cookie in {answer.headers.get_list('set-cookie')}")


def _user(url: str, cookie: str, **headers: str) -> httpx.Response:
    return httpx.get(url + "/gradio_api/user", headers={"Cookie": cookie, **headers}, timeout=30)


def test_a_login_cookie_sent_twice_logs_nobody_in(site: dict[str, Any]) -> None:
    url = site["url"]
    name, alice = _token(_login(url, "alice"))
    _, bob = _token(_login(url, "bob"))
    assert _user(url, f"{name}={alice}").json() == "alice"
    # bob's cookie planted for the parent domain comes after alice's own, or before it
    for cookie in (f"{name}={alice}; {name}={bob}", f"{name}={bob}; {name}={alice}"):
        answer = _user(url, cookie, Host="app.probe.test")
        assert answer.status_code == 401, answer.text
        assert TWICE in answer.json()["detail"]
        expired = answer.headers.get_list("set-cookie")
        assert any(c.startswith(f"{name}=;") and "Domain=probe.test" in c for c in expired), expired
        assert any(c.startswith(f"{name}=;") and "Domain" not in c for c in expired), expired
    # the other variant Gradio reads, with another token, counts as a second cookie too
    unsecure = name.replace("access-token-", "access-token-unsecure-")
    assert _user(url, f"{name}={alice}; {unsecure}={bob}").status_code == 401
    assert _user(url, f"{name}={alice}; {unsecure}={alice}").json() == "alice"
    # a page load goes on logged out: the login page, not bob's (or alice's) app
    page = httpx.get(url + "/config", headers={"Cookie": f"{name}={alice}; {name}={bob}"}, timeout=30)
    assert page.status_code == 401
    # an API call does not run in bob's account
    call = httpx.post(
        url + "/gradio_api/call/whoami",
        json={"data": [{}]},
        headers={"Cookie": f"{name}={alice}; {name}={bob}"},
        timeout=30,
    )
    assert call.status_code == 401 and TWICE in call.json()["detail"]


def test_over_https_the_login_cookie_is_a_host_cookie_and_plain_ones_are_ignored(
    site: dict[str, Any],
) -> None:
    url = site["url"]
    login = _login(url, "alice", **HTTPS)
    cookies = login.headers.get_list("set-cookie")
    sessions = [c for c in cookies if "access-token-" in c.split("=", 1)[0]]
    assert sessions and all(c.startswith("__Host-access-token-") for c in sessions), cookies
    for cookie in sessions:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes, cookie
        assert "samesite=lax" in attributes and not any(a.startswith("domain") for a in attributes), cookie
    host_name, alice = _token(login)
    plain = host_name.removeprefix("__Host-")
    assert _user(url, f"{host_name}={alice}", **HTTPS).json() == "alice"
    # a plain cookie (a sibling host can set one) is not a login over HTTPS, alone or with another
    _, bob = _token(_login(url, "bob"))
    assert _user(url, f"{plain}={bob}", **HTTPS).json() != "bob"
    assert _user(url, f"{host_name}={alice}; {plain}={bob}", **HTTPS).status_code == 401
    # logging out over HTTPS expires the __Host- cookie
    out = httpx.post(url + "/logout", headers={"Cookie": f"{host_name}={alice}", **HTTPS}, timeout=30)
    assert out.status_code in (200, 302, 303), out.text
    expired = out.headers.get_list("set-cookie")
    assert any(c.startswith(f"{host_name}=") and "Max-Age=0" in c for c in expired), expired
    assert _user(url, f"{host_name}={alice}", **HTTPS).json() != "alice"


def test_repeated_session_hash_or_event_id_is_refused(site: dict[str, Any]) -> None:
    url = site["url"]
    name, alice = _token(_login(url, "alice"))
    _, bob = _token(_login(url, "bob"))
    own = f"alice{uuid.uuid4().hex}"
    with httpx.Client(base_url=url, headers={"Cookie": f"{name}={alice}"}, timeout=60) as session:
        joined = session.post(
            "/gradio_api/queue/join",
            json={"data": [{}], "fn_index": 0, "session_hash": own, "trigger_id": None},
        )
        assert joined.status_code == 200, joined.text
    with httpx.Client(base_url=url, headers={"Cookie": f"{name}={bob}"}, timeout=30) as thief:
        direct = thief.get("/gradio_api/queue/data", params={"session_hash": own})
        assert direct.status_code == 403
        twice = thief.get(f"/gradio_api/queue/data?session_hash=bob{own}&session_hash={own}")
        assert twice.status_code == 400, twice.text[:300]
        assert "more than once" in twice.json()["detail"]
        events = thief.get(f"/gradio_api/queue/data?session_hash=bob{own}&event_id=a&event_id=b")
        assert events.status_code == 400
        # the JSON body: Python (and Gradio) keep the last of a repeated key
        body = (
            '{"data": [{}], "fn_index": 0, "session_hash": "bob' + own + '", "session_hash": "' + own + '"}'
        )
        join = thief.post(
            "/gradio_api/queue/join", content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert join.status_code == 400 and "session_hash" in join.json()["detail"]


def test_deeply_nested_json_is_a_clear_400_on_every_json_route(site: dict[str, Any]) -> None:
    url = site["url"]
    name, alice = _token(_login(url, "alice"))
    key = new_api_key(site["db"], "alice", label="deep json")
    routes = {
        "/gradio_api/queue/join": {"Cookie": f"{name}={alice}"},
        "/gradio_api/call/whoami": {"Cookie": f"{name}={alice}"},
        "/gradio_api/run/whoami": {"Cookie": f"{name}={alice}"},
        "/v1/chat/completions": {"Authorization": f"Bearer {key}"},
    }
    for path, headers in routes.items():
        for body in (DEEP, b'{"data": ' + DEEP + b', "fn_index": 0}'):
            answer = httpx.post(
                url + path, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=30
            )
            assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
            assert "nested too deeply" in answer.text, answer.text
    # brackets inside strings are not nesting
    flat = json.dumps({"data": [{"text": "[" * 500}], "fn_index": 0, "session_hash": uuid.uuid4().hex})
    answer = httpx.post(
        url + "/gradio_api/queue/join",
        content=flat.encode(),
        headers={"Cookie": f"{name}={alice}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code != 400 or "nested" not in answer.text
    log = Path(site["log"]).read_text(errors="replace")
    assert "RecursionError" not in log and "Traceback" not in log


def test_api_description_and_stream_routes_answer_404(site: dict[str, Any]) -> None:
    url = site["url"]
    for path in ("/openapi.json", "/docs", "/redoc"):
        answer = httpx.get(url + path, timeout=30)
        assert answer.status_code == 404, (path, answer.status_code)
    # the stream routes serve streaming components, which the app has none of: closed to everyone
    for path in ("/gradio_api/stream/someevent", "/gradio_api/stream/someevent/close"):
        answer = httpx.post(url + path, json={"data": [], "fn_index": 0}, timeout=30)
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:200])
    name, alice = _token(_login(url, "alice"))
    answer = httpx.post(
        url + f"/gradio_api/stream/{uuid.uuid4().hex}/close",
        headers={"Cookie": f"{name}={alice}"},
        timeout=30,
    )
    assert answer.status_code == 404


def test_an_unknown_session_hash_is_a_clean_404_without_a_traceback(site: dict[str, Any]) -> None:
    url = site["url"]
    name, alice = _token(_login(url, "alice"))
    cookie = {"Cookie": f"{name}={alice}"}
    log = Path(site["log"])
    before = log.read_text(errors="replace").count("Traceback")
    for path in (
        f"/gradio_api/queue/data?session_hash=unknown{uuid.uuid4().hex}",
        f"/gradio_api/call/whoami/{uuid.uuid4().hex}",
        f"/gradio_api/call/v2/whoami/{uuid.uuid4().hex}",
    ):
        answer = httpx.get(url + path, headers=cookie, timeout=30)
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
        assert "reload the page" in answer.json()["detail"], answer.text
    # without a login Gradio's own 401 still comes first
    anonymous = httpx.get(url + f"/gradio_api/queue/data?session_hash=x{uuid.uuid4().hex}", timeout=30)
    assert anonymous.status_code == 401
    # a session the queue holds still streams: a call's own event
    called = httpx.post(url + "/gradio_api/call/whoami", json={"data": [{}]}, headers=cookie, timeout=30)
    assert called.status_code == 200, called.text
    stream = httpx.get(
        url + f"/gradio_api/call/whoami/{called.json()['event_id']}", headers=cookie, timeout=60
    )
    assert stream.status_code == 200 and "event: complete" in stream.text, stream.text[:300]
    assert log.read_text(errors="replace").count("Traceback") == before
