"""The web edge probed as an outsider would: other origins, other host names, forwarded headers,
Gradio's own routes, against a live ``align serve`` in login mode (users root (admin), alice, bob) and
one in single local-user mode.

Raw HTTP with httpx: real logins (the session cookie ``/login`` sets), ``Host: align.example.com``
(the app under a real host name, where Gradio's own CORS rules let any origin read), ``Origin:
https://evil.example``, preflights and real requests. Each attack is shown refused, and the app's
own pages, ``gradio_client`` and server-to-server callers shown still served.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.gradio_queue import handler, join, read_answer
from tests.helpers.serve import USERS, create_users, sqlite_url, start_server, stop, wait_ready
from tests.helpers.store import api_keys_of
from tests.helpers.web import gradio_client, logged_in

pytestmark = pytest.mark.timeout(600)

HOST = "align.example.com"
EVIL = "https://evil.example"
FRIEND = "https://chat.example.org"  # in allowed_origins
KEY_LABEL = "What the new key is for"


def _serve(
    data: Path, env: dict[str, str], *, users: bool = True
) -> tuple[subprocess.Popen[bytes], str, Path]:
    data.mkdir(parents=True, exist_ok=True)
    if users:
        create_users(sqlite_url(data))
    full_env = {
        "ALIGN_SERVE_NICE": "0",
        # the attacks below come to plain-HTTP host names: the operator allowed logins there
        "ALIGN_ALLOW_INSECURE_HTTP_LOGIN": "true",
        **env,
    }
    proc, url, log = start_server(
        data, host=None, eval_limit=None, extra_env=full_env, drop_env=("FORWARDED_ALLOW_IPS",)
    )
    wait_ready(proc, url, log)
    return proc, url, log


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("origins")
    proc, url, log = _serve(base / "data", {"ALIGN_ALLOWED_ORIGINS": json.dumps([FRIEND])})
    try:
        sessions = {name: logged_in(url, name) for name in USERS}
        yield {"url": url, "log": log, "db": f"sqlite:///{base / 'data' / 'align.sqlite3'}", **sessions}
        for session in sessions.values():
            session.close()
    finally:
        stop(proc)


def _read_for(session: httpx.Client, session_hash: str, *, seconds: float) -> str:
    """What the event stream of ``session_hash`` sends within ``seconds`` (Gradio keeps it open)."""
    seen = ""
    try:
        with session.stream(
            "GET", "/gradio_api/queue/data", params={"session_hash": session_hash}, timeout=seconds
        ) as stream:
            for chunk in stream.iter_text():
                seen += chunk
    except httpx.ReadTimeout:
        pass
    return seen


def _no_cors(answer: httpx.Response) -> None:
    assert "access-control-allow-origin" not in answer.headers, dict(answer.headers)
    assert "access-control-allow-credentials" not in answer.headers, dict(answer.headers)


# -- finding 1: origins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/gradio_api/queue/join", "/gradio_api/token", "/v1/chat/completions", "/login"]
)
def test_a_preflight_from_a_foreign_origin_is_refused_under_a_real_host_name(site, path):
    answer = httpx.options(
        site["url"] + path,
        headers={
            "Host": HOST,
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 403
    _no_cors(answer)
    assert "another site" in answer.text


def test_replies_to_a_foreign_origin_carry_no_cors_headers(site):
    alice = site["alice"]
    for path in ("/config", "/gradio_api/info", "/", "/gradio_api/token"):
        for host in (HOST, "127.0.0.1"):
            answer = alice.get(path, headers={"Host": host, "Origin": EVIL})
            _no_cors(answer)


def test_an_allowed_origin_may_call_with_credentials(site):
    preflight = httpx.options(
        site["url"] + "/gradio_api/queue/join",
        headers={"Host": HOST, "Origin": FRIEND, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == FRIEND
    assert preflight.headers["access-control-allow-credentials"] == "true"
    answer = site["alice"].get("/config", headers={"Host": HOST, "Origin": FRIEND})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == FRIEND


def test_a_foreign_page_cannot_create_a_key_with_the_users_cookie(site):
    alice = site["alice"]
    fn = handler(alice, input=KEY_LABEL)
    before = api_keys_of(site["db"], "alice")
    foreign = [
        {"Host": HOST, "Origin": EVIL},
        {"Host": HOST, "Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # another port on the same machine: same site, other origin
        {"Host": HOST, "Sec-Fetch-Site": "same-site"},  # no Origin, but the browser says where from
        {"Host": HOST, "Referer": "https://evil.example/page"},
    ]
    for headers in foreign:
        answer = join(alice, fn, ["stolen"], uuid.uuid4().hex[:11], **headers)
        assert answer.status_code == 403, (headers, answer.text)
        _no_cors(answer)
    assert api_keys_of(site["db"], "alice") == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/login"),
        ("POST", "/logout"),
        ("POST", "/gradio_api/upload"),
        ("POST", "/v1/chat/completions"),
        ("PUT", "/gradio_api/queue/join"),
        ("DELETE", "/config"),
    ],
)
def test_every_state_changing_request_from_a_foreign_origin_is_refused(site, method, path):
    answer = site["bob"].request(method, path, headers={"Host": HOST, "Origin": EVIL}, content=b"{}")
    assert answer.status_code == 403, answer.text
    _no_cors(answer)
    assert site["bob"].get("/config").status_code == 200  # bob's session lives on


def test_the_apps_own_pages_and_server_to_server_callers_still_work(site):
    alice = site["alice"]
    fn = handler(alice, api_name="whoami")
    own = [
        {},  # no Origin, no Sec-Fetch-Site: gradio_client, curl, a chat app's server
        {"Origin": site["url"]},
        {"Host": HOST, "Origin": f"http://{HOST}"},
        {"Host": HOST, "Origin": f"https://{HOST}"},  # TLS ended by a proxy in front
        {"Host": HOST, "Sec-Fetch-Site": "same-origin"},
        {"Host": HOST, "Origin": FRIEND},
    ]
    for headers in own:
        session_hash = uuid.uuid4().hex[:11]
        answer = join(alice, fn, [{}], session_hash, **headers)
        assert answer.status_code == 200, (headers, answer.text)
        assert read_answer(alice, session_hash, timeout=120).output["data"][0]["name"] == "alice"
    client = gradio_client(site["url"], "alice")
    try:
        assert client.predict({}, api_name="/whoami")["name"] == "alice"
    finally:
        client.close()


def test_no_route_hands_the_session_token_to_script(site):
    alice = site["alice"]
    token = next(v for k, v in alice.cookies.items() if k.startswith("access-token-"))
    for path in ("/gradio_api/token", "/gradio_api/token/"):
        answer = alice.get(path)
        assert answer.status_code == 404 and token not in answer.text
        assert answer.headers["cache-control"] == "no-store"


def test_the_session_cookie_is_httponly_samesite_lax_and_not_secure_over_plain_http(site):
    answer = httpx.post(site["url"] + "/login", data={"username": "bob", "password": USERS["bob"][0]})
    cookies = [
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("access-token-")
    ]
    assert len(cookies) == 2, answer.headers
    for cookie in cookies:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "httponly" in attributes and "samesite=lax" in attributes
        assert "samesite=none" not in attributes and "secure" not in attributes
    assert answer.headers["cache-control"] == "no-store"
    # a client claiming HTTPS through a proxy header is not believed: no proxy is trusted by default
    claimed = httpx.post(
        site["url"] + "/login",
        data={"username": "bob", "password": USERS["bob"][0]},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert all(
        "secure" not in v.lower().split("; ") for k, v in claimed.headers.multi_items() if k == "set-cookie"
    )


def test_a_new_api_key_reply_is_not_cacheable_and_not_shown_again(site):
    alice = site["alice"]
    fn = handler(alice, input=KEY_LABEL)
    session_hash = uuid.uuid4().hex[:11]
    assert join(alice, fn, ["cache test", USERS["alice"][0]], session_hash).status_code == 200
    with alice.stream("GET", "/gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
        assert stream.headers["cache-control"] == "no-store"
        text = "".join(stream.iter_text())
    assert '"align-' in text  # the key was shown, once
    assert "process_completed" not in _read_for(alice, session_hash, seconds=3)  # not replayed
    # bob, who learnt the session hash, reads nothing of it
    assert site["bob"].get("/gradio_api/queue/data", params={"session_hash": session_hash}).status_code == 403


# -- finding 7: JSON only -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/gradio_api/queue/join", "/gradio_api/call/whoami"]
)
def test_json_endpoints_refuse_a_body_not_declared_json(site, path):
    body = json.dumps({"model": "align", "messages": [{"role": "user", "content": "hi"}], "data": [{}]})
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        answer = site["alice"].post(path, content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 415, (content_type, answer.text)


# -- low: Gradio's own routes, forwarded headers, queue streams ------------------------------------


def test_get_logout_from_a_link_does_not_end_the_session(site):
    carol = logged_in(site["url"], "alice")
    try:
        for headers in (
            {},
            {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
            {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
        ):
            answer = carol.get("/logout", headers=headers, follow_redirects=False)
            assert answer.status_code == 200 and 'method="post"' in answer.text
            assert carol.get("/config").status_code == 200, headers
        # the app's own page (its "Log out" button) and a POST from the app's own page do log out
        done = carol.post("/logout", headers={"Origin": site["url"]}, follow_redirects=False)
        assert done.status_code == 302
        assert carol.get("/config").status_code == 401
    finally:
        carol.close()
    dave = logged_in(site["url"], "bob")
    try:
        own = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        assert dave.get("/logout", headers=own, follow_redirects=False).status_code == 302
        assert dave.get("/config").status_code == 401
    finally:
        dave.close()
    for name in ("alice", "bob"):  # logging out ended every session of theirs: the module's ones too
        site[name].close()
        site[name] = logged_in(site["url"], name)


def test_monitoring_is_for_admins_and_its_key_is_never_logged(site):
    assert site["bob"].get("/monitoring/summary").status_code == 403
    assert httpx.get(site["url"] + "/monitoring/summary").status_code == 401
    assert site["root"].get("/monitoring/summary").status_code == 200
    for who in ("bob", "root"):
        assert site[who].get("/monitoring").status_code == 404
    log = Path(site["log"]).read_text()
    assert "Monitoring URL" not in log and not re.search(r"/monitoring/(?!summary)[\w-]{8,}", log)


def test_heartbeat_and_cancel_need_a_login(site):
    with httpx.stream("GET", site["url"] + "/gradio_api/heartbeat/abc123", timeout=10) as answer:
        assert answer.status_code == 401
    cancel = httpx.post(
        site["url"] + "/gradio_api/cancel", json={"session_hash": "abc123", "fn_index": 0, "event_id": "x"}
    )
    assert cancel.status_code == 401


def test_a_session_hash_and_an_event_id_belong_to_their_user(site):
    alice, bob = site["alice"], site["bob"]
    fn = handler(alice, api_name="whoami")
    session_hash = uuid.uuid4().hex[:11]
    assert join(alice, fn, [{}], session_hash).status_code == 200
    assert bob.get("/gradio_api/queue/data", params={"session_hash": session_hash}).status_code == 403
    assert join(bob, fn, [{}], session_hash).status_code == 403  # nor runs in its state
    with bob.stream("GET", f"/gradio_api/heartbeat/{session_hash}", timeout=10) as heartbeat:
        assert heartbeat.status_code == 403  # nor ends it
    assert read_answer(alice, session_hash, timeout=120).output["data"][0]["name"] == "alice"
    event = alice.post("/gradio_api/call/whoami", json={"data": [{}]}).json()["event_id"]
    assert bob.get(f"/gradio_api/call/whoami/{event}").status_code == 403
    assert '"alice"' in alice.get(f"/gradio_api/call/whoami/{event}", timeout=60).text


def test_x_forwarded_for_is_not_believed_from_an_untrusted_caller(site):
    # five failures from "five addresses" are five failures from this one: the sixth is locked out
    for i in range(5):
        answer = httpx.post(
            site["url"] + "/login",
            data={"username": "mallory", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        assert answer.status_code == 400
    locked = httpx.post(
        site["url"] + "/login",
        data={"username": "mallory", "password": "wrong"},
        headers={"X-Forwarded-For": "198.51.100.9"},
    )
    assert locked.status_code == 429


def test_a_trusted_proxy_is_believed_and_allowed_hosts_are_the_only_names(tmp_path):
    env = {"ALIGN_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]), "ALIGN_ALLOWED_HOSTS": json.dumps([HOST])}
    proc, url, _ = _serve(tmp_path / "data", env)
    try:
        for host, status in ((HOST, 200), ("127.0.0.1", 200), ("evil.test", 421), (f"{HOST}.evil.test", 421)):
            assert httpx.get(url + "/", headers={"Host": host}).status_code == status, host
        answer = httpx.post(
            url + "/login",
            data={"username": "bob", "password": USERS["bob"][0]},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"},
        )
        cookies = [
            v
            for k, v in answer.headers.multi_items()
            if k == "set-cookie" and "access-token-" in v.split("=")[0]
        ]  # behind the HTTPS proxy, __Host- cookies (tests/reliability/test_attacker_cookies.py)
        assert cookies and all(v.startswith("__Host-") and "secure" in v.lower().split("; ") for v in cookies)
        for i in range(6):  # each forwarded address has its own failures: none is locked out
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
            bad = httpx.post(url + "/login", data={"username": "mallory", "password": "x"}, headers=headers)
            assert bad.status_code == 400
        # behind the HTTPS proxy the app's own origin is https://HOST; a plain-HTTP page is another
        bob = logged_in(url, "bob")
        # over HTTPS bob's browser sends the __Host- cookies his HTTPS login set (plain ones are ignored)
        secure_bob = httpx.Client(
            base_url=url, timeout=60, headers={"Cookie": "; ".join(v.split(";")[0] for v in cookies)}
        )
        try:
            fn = handler(bob, api_name="whoami")
            https = {"Host": HOST, "X-Forwarded-Proto": "https"}
            page = join(secure_bob, fn, [{}], uuid.uuid4().hex[:11], **https, Origin=f"https://{HOST}")
            assert page.status_code == 200
            downgraded = join(secure_bob, fn, [{}], uuid.uuid4().hex[:11], **https, Origin=f"http://{HOST}")
            assert downgraded.status_code == 403
        finally:
            bob.close()
            secure_bob.close()
    finally:
        stop(proc)


# -- finding 7: local mode and DNS rebinding -----------------------------------------------------


def test_local_mode_answers_only_to_loopback_host_names(tmp_path):
    proc, url, _ = _serve(tmp_path / "data", {}, users=False)
    port = url.rsplit(":", 1)[1]
    try:
        assert "single local-user mode" in (tmp_path / "data" / "serve.log").read_text()
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
            assert httpx.get(url + "/config", headers={"Host": host}).status_code == 200, host
        for host in (f"evil.test:{port}", "evil.test", f"127.0.0.1.evil.test:{port}"):
            for method, path in (("GET", "/"), ("GET", "/config"), ("POST", "/v1/chat/completions")):
                answer = httpx.request(method, url + path, headers={"Host": host}, json={})
                assert answer.status_code == 421, (host, path, answer.status_code)
                assert "127.0.0.1" in answer.text
        plain = httpx.post(
            url + "/v1/chat/completions",
            content=json.dumps({"model": "align", "messages": [{"role": "user", "content": "hi"}]}),
            headers={"Content-Type": "text/plain"},
        )
        assert plain.status_code == 415
    finally:
        stop(proc)
