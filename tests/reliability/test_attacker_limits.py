"""Request limits, as an attacker calls a live ``align serve`` in login mode: oversize bodies, uploads and
texts, huge numbers, sessions that outlive a password or role change, and the login lock.

Raw HTTP (httpx) as well as gradio_client, and the unnamed UI handlers by ``fn_index``. The server
runs with the default size limits (1 MB per request, 16 MB per upload, 8000 characters per text).
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client.exceptions import AppError

from tests.helpers import web
from tests.helpers.gradio_queue import call_fn, handler_inputs, refusal
from tests.helpers.serve import USERS, new_site, serving, start_server
from tests.helpers.store import add_users, opened
from tests.helpers.web import call, gradio_client

pytestmark = pytest.mark.timeout(900)

MB = 1_000_000
PAYLOAD_MARK = "ZQXJ"  # the oversize payloads are made of this; it must never reach a log or a file
EXTRA_USERS = {  # users whose sessions the tests end (root, alice and bob stay as they are)
    "carol": ("carol-password", "user"),
    "dave": ("dave-password", "admin"),
    "frank": ("frank-password", "user"),
    "gina": ("gina-password", "user"),
    "zoe": ("zoe-password", "user"),  # the newest account: SQLite would give its id to the next one
}
SCENARIO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
}
MAX_FAILURES, COOLDOWN_S, MAX_COOLDOWN_S = 3, 1, 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir, database_url = new_site(tmp_path_factory, "attacker")
    add_users(database_url, EXTRA_USERS)
    temp = data_dir / "gradio-tmp"
    temp.mkdir()
    env = {
        "ALIGN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "ALIGN_LOGIN_COOLDOWN_S": str(COOLDOWN_S),
        "ALIGN_LOGIN_MAX_COOLDOWN_S": str(MAX_COOLDOWN_S),
        "GRADIO_TEMP_DIR": str(temp),
    }
    with serving(start_server(data_dir, extra_env=env)) as app:
        yield {
            "url": app.url,
            "db": database_url,
            "sqlite": data_dir / "align.sqlite3",
            "log": app.log,
            "proc": app.proc,
            "temp": temp,
            "data_dir": data_dir,
        }


# -- helpers: how an attacker talks to the server -------------------------------------------------


def all_users() -> dict[str, tuple[str, str]]:
    return {**USERS, **EXTRA_USERS}


def http(url: str, address: str = "127.0.0.1") -> httpx.Client:
    """A raw HTTP client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    return web.http(url, address)


def logged_in(url: str, name: str, password: str | None = None) -> httpx.Client:
    return web.logged_in(url, name, password or all_users()[name][0], address="127.0.0.1")


def log_rows(server: dict[str, Any]) -> int:
    from sqlalchemy import text

    with opened(server["db"]) as store:
        assert store.engine is not None
        with store.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM decision_log")).scalar() or 0)


def database_bytes(server: dict[str, Any]) -> int:
    path: Path = server["sqlite"]
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def rss_mb(server: dict[str, Any]) -> float:
    status = Path(f"/proc/{server['proc'].pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def refused_lines(server: dict[str, Any]) -> list[str]:
    return [line for line in server["log"].read_text(errors="replace").splitlines() if "refused " in line]


def marked(n: int) -> str:
    return (PAYLOAD_MARK * (n // len(PAYLOAD_MARK) + 1))[:n]


def json_body(scenario_chars: int) -> bytes:
    return json.dumps({"data": [{"scenario": marked(scenario_chars), "choices": ["a", "b"]}]}).encode()


# -- 1. request bodies: 413 before parsing, streamed bodies counted ----------------------------------


def test_oversize_bodies_get_413_before_parsing(server):
    alice = logged_in(server["url"], "alice")
    for size in (5 * MB, 50 * MB):
        for path in ("/gradio_api/call/decide", "/gradio_api/queue/join", "/gradio_api/run/decide"):
            answer = alice.post(path, content=json_body(size), headers={"content-type": "application/json"})
            assert answer.status_code == 413, (path, size, answer.status_code)
            detail = answer.json()["detail"]
            assert "at most 1.0 MB per request" in detail and "shorten" in detail, detail
    # no login needed to be refused: a stranger's 5 MB login form is not read either
    stranger = http(server["url"])
    answer = stranger.post(
        "/login",
        content=b"username=" + marked(5 * MB).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    # a normal request still passes
    status, result = call(alice, "decide", {**SCENARIO, "algorithm": "random", "seed": 1})
    assert status == "ok" and result["choice"] in SCENARIO["choices"], result


def test_streamed_bodies_are_counted_not_trusted(server):
    """Chunked bodies carry no Content-Length: the server counts and stops at the limit."""
    alice = logged_in(server["url"], "alice")
    sent = 0

    def chunks(total: int) -> Iterator[bytes]:
        nonlocal sent
        piece = marked(64 * 1024).encode()
        while sent < total:
            sent += len(piece)
            yield piece

    started = time.monotonic()
    answer = alice.post(
        "/gradio_api/queue/join", content=chunks(30 * MB), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and "per request" in answer.json()["detail"]
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert time.monotonic() - started < 30


def test_refused_requests_grow_neither_the_database_nor_memory(server):
    """The probe's attack: ten 5-50 MB /decide requests. Before: SQLite 238 KB -> 432 MB, RSS +0.9 GB."""
    alice = logged_in(server["url"], "alice")
    call(alice, "decide", {**SCENARIO, "algorithm": "random", "seed": 2})  # warm the server up
    rows, size, rss = log_rows(server), database_bytes(server), rss_mb(server)
    before = len(refused_lines(server))
    for mb in (5, 10, 15, 20, 25, 30, 35, 40, 45, 50):
        answer = alice.post(
            "/gradio_api/call/decide",
            content=json_body(mb * MB),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 413
    # under the body limit but over the text limit: refused by the app, not logged as a decision either
    for _ in range(10):
        status, message = call(alice, "decide", {"scenario": marked(400_000), "choices": ["a", "b"]})
        assert status == "error" and "shorten it" in message and PAYLOAD_MARK not in message
    assert log_rows(server) == rows
    assert database_bytes(server) - size < 64 * 1024, (size, database_bytes(server))
    assert rss_mb(server) - rss < 100, (rss, rss_mb(server))
    lines = refused_lines(server)[before:]
    assert len(lines) >= 20, lines
    for line in lines:  # a short record: what, and the sizes; never the payload
        assert len(line) < 300 and PAYLOAD_MARK not in line, line
    assert any("declared_bytes=" in line for line in lines) and any("chars=400000" in line for line in lines)
    assert PAYLOAD_MARK not in server["log"].read_text(errors="replace")


# -- 2. uploads ---------------------------------------------------------------------------------------


def multipart(size: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.json"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    return head + marked(size).encode() + f"\r\n--{boundary}--\r\n".encode(), boundary


def test_uploads_over_the_cap_are_refused(server):
    alice = logged_in(server["url"], "alice")
    small, boundary = multipart(100_000)
    ok = alice.post(
        "/gradio_api/upload",
        content=small,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert ok.status_code == 200, ok.text  # an upload under the cap is taken
    body, boundary = multipart(20 * MB)
    answer = alice.post(
        "/gradio_api/upload",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413 and "at most 16.0 MB per file" in answer.json()["detail"]

    def streamed() -> Iterator[bytes]:  # 300 MB announced by nothing (chunked): refused unread
        yield body[:200]
        piece = marked(256 * 1024).encode()
        for _ in range(300 * MB // len(piece)):
            yield piece

    started = time.monotonic()
    answer = alice.post(
        "/gradio_api/upload",
        content=streamed(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 411 and "size announced" in answer.json()["detail"]
    assert time.monotonic() - started < 60
    # gradio_client reads the cap from the server's config and does not even send the file
    from gradio_client import handle_file

    big = server["data_dir"] / "big.json"
    big.write_text(marked(17 * MB))
    client = gradio_client(server["url"], "alice")
    try:
        with pytest.raises(ValueError, match="exceeds the maximum file size of 16000000 bytes"):
            client.predict(handle_file(str(big)), api_name="/whoami")
    finally:
        client.close()
        big.unlink()
    # nothing big was left behind in Gradio's upload folder
    leftovers = [p for p in server["temp"].rglob("*") if p.is_file() and p.stat().st_size > MB]
    assert not leftovers, leftovers


# -- 3. every text field ------------------------------------------------------------------------------

TEXT_CASES = [  # (user, endpoint, payload): each over the 8000-character text limit somewhere
    ("alice", "decide", {"scenario": "x", "choices": ["a", marked(9000)], "algorithm": "random"}),
    ("alice", "decide", {**SCENARIO, "params": {"note": marked(20_000)}, "algorithm": "random"}),
    ("alice", "compare", {**SCENARIO, "columns": [{"algorithm": "random"}, {"algorithm": marked(9000)}]}),
    ("alice", "chat", {"message": marked(50_000)}),
    ("alice", "create_profile", {"name": "p", "description": marked(50_000)}),
    ("alice", "update_profile", {"name": "p", "description": marked(50_000)}),
    ("alice", "import_profiles", {"bundle": {"profiles": [{"name": marked(9000)}]}}),
    ("alice", "feedback", {"decision_id": 1, "agree": False, "would_choose": marked(9000)}),
    ("alice", "calibrate_next", {"answers": [{"dilemma_id": marked(9000)}]}),
    ("root", "upsert_attribute", {"attribute": {"name": "x", "description": marked(50_000)}}),
    ("root", "add_example", {"text": marked(50_000), "choices": ["a", "b"]}),
    ("root", "search_examples", {"query": marked(50_000)}),
    ("root", "add_user", {"name": marked(9000), "password": "long-enough-pw"}),
]


@pytest.mark.parametrize(("user", "endpoint", "payload"), TEXT_CASES, ids=[c[1] for c in TEXT_CASES])
def test_every_text_field_is_limited(server, user, endpoint, payload):
    client = gradio_client(server["url"], user, all_users()[user][0])
    rows, size = log_rows(server), database_bytes(server)
    try:
        with pytest.raises(AppError) as caught:
            client.predict(payload, api_name=f"/{endpoint}")
    finally:
        client.close()
    message = str(caught.value)
    assert "the limit is 8000: shorten it" in message and PAYLOAD_MARK not in message, message
    assert log_rows(server) == rows and database_bytes(server) - size < 16 * 1024


def test_lists_and_nesting_are_limited(server):
    alice = logged_in(server["url"], "alice")
    status, message = call(alice, "decide", {"scenario": "x", "choices": ["a"] * 5000})
    assert status == "error" and "has 5000 items; the limit is 1000" in message, message
    nested: Any = "x"
    for _ in range(40):
        nested = [nested]
    status, message = call(alice, "decide", {**SCENARIO, "params": {"deep": nested}})
    assert status == "error" and "nested deeper than" in message, message


def test_unnamed_handlers_are_limited_too(server):
    """The Compare tab's handler (no API name), called by fn_index over raw HTTP."""
    alice = logged_in(server["url"], "alice")
    index, data = handler_inputs(alice, "run_compare")
    data[0], data[1] = marked(200_000), "a\nb"
    rows = log_rows(server)
    ok, output = call_fn(alice, index, data)
    assert "the limit is 8000: shorten it" in refusal(ok, output), output
    assert log_rows(server) == rows


# -- 4. numbers: bounded, and every failure reaches the caller with a message -------------------------

NUMBER_CASES = [  # (endpoint, payload, a fragment of the message)
    ("decide", {**SCENARIO, "algorithm": "random", "seed": 10**400}, "seed is too large a number"),
    ("decide", {**SCENARIO, "algorithm": "random", "seed": 2**40}, "seed"),
    ("decide", {**SCENARIO, "algorithm": "random", "seed": -1}, "seed"),
    ("decide", {**SCENARIO, "algorithm": "random", "params": {"n": 10**30}}, "too large a number"),
    ("compare", {**SCENARIO, "columns": [{"algorithm": "random"}] * 2, "seed": 2**63}, "seed"),
    ("chat", {"message": "hi", "seed": 10**20}, "seed"),
    ("get_conversation", {"id": 2**40}, "give the conversation"),
    ("feedback", {"decision_id": 2**40, "agree": True}, "decision id"),
    ("feedback", {"decision_id": 1, "agree": False, "would_choose": 10**12}, "would choose"),
    ("update_profile", {"name": "p", "expected_version": 2**40}, "expected version"),
    ("calibrate_next", {"answers": [{"dilemma_id": "x", "choice": 2**40}]}, "choice"),
    ("evaluate", {"files": ["x.json"], "limit": 10**30}, "limit is too large a number"),
]


@pytest.mark.parametrize(("endpoint", "payload", "fragment"), NUMBER_CASES, ids=[c[0] for c in NUMBER_CASES])
def test_integers_are_bounded_and_refused_with_a_message(server, endpoint, payload, fragment):
    alice = logged_in(server["url"], "alice")
    rows = log_rows(server)
    status, message = call(alice, endpoint, payload)
    assert status == "error" and message and fragment in message, (status, message)
    assert "CancelledError" not in message
    assert log_rows(server) == rows  # not logged as a decision (the probe saw 10**400 logged as ok)


def test_huge_seed_through_gradio_client_and_a_handler(server):
    client = gradio_client(server["url"], "alice")
    try:
        with pytest.raises(AppError, match="seed is too large a number"):
            client.predict({**SCENARIO, "algorithm": "random", "seed": 10**400}, api_name="/decide")
        assert client.predict({**SCENARIO, "algorithm": "random", "seed": 7}, api_name="/decide")["log_id"]
    finally:
        client.close()
    root = logged_in(server["url"], "root")
    index, _ = handler_inputs(root, "run_search")  # Examples tab (admins): "How many" is a number
    ok, output = call_fn(root, index, ["", "", "", 10**400])
    assert "too large a number" in refusal(ok, output), output


# -- 5. sessions ----------------------------------------------------------------------------------------


def whoami(client: httpx.Client) -> tuple[str, Any]:
    return call(client, "whoami", {})


def test_admin_password_change_ends_the_users_sessions(server):
    carol_a, carol_b = logged_in(server["url"], "carol"), logged_in(server["url"], "carol")
    carol_client = gradio_client(server["url"], "carol", "carol-password")
    assert whoami(carol_a) == ("ok", {"name": "carol", "role": "user", "local_mode": False})
    root = gradio_client(server["url"], "root")
    try:
        root.predict({"name": "carol", "password": "carol-new-password"}, api_name="/set_password")
        for old in (carol_a, carol_b):  # the old cookies: 401 on every route
            assert whoami(old) == ("http", 401)
            assert (
                old.post(
                    "/gradio_api/queue/join", json={"data": [{}], "fn_index": 0, "session_hash": "s"}
                ).status_code
                == 401
            )
            assert old.get("/config").status_code == 401
        with pytest.raises(Exception, match="401"):
            carol_client.predict({}, api_name="/whoami")
        root_session = logged_in(server["url"], "root")
        assert whoami(root_session)[0] == "ok"  # others unaffected
        root_session.close()
        with pytest.raises(AssertionError, match="Incorrect credentials"):  # HTTP 400, not a 429 lock
            logged_in(server["url"], "carol", "carol-password")  # the old password is gone too
        assert whoami(logged_in(server["url"], "carol", "carol-new-password"))[0] == "ok"
    finally:
        root.close()
        carol_client.close()


def test_own_password_change_keeps_this_session_and_ends_the_others(server):
    here, elsewhere = logged_in(server["url"], "gina"), logged_in(server["url"], "gina")
    status, result = call(
        here,
        "set_password",
        {"name": "gina", "password": "gina-new-password", "current_password": "gina-password"},
    )
    assert status == "ok" and result["password_set"], result
    assert whoami(here)[0] == "ok"
    assert whoami(elsewhere) == ("http", 401)


def test_demoting_an_admin_takes_effect_at_once(server):
    dave = gradio_client(server["url"], "dave", "dave-password")
    dave_raw = logged_in(server["url"], "dave")
    root = gradio_client(server["url"], "root")
    try:
        assert len(dave.predict({}, api_name="/list_users")["users"]) > 1  # an admin sees everyone
        root.predict({"name": "dave", "role": "user"}, api_name="/set_role")
        with pytest.raises(Exception, match="401"):
            dave.predict({}, api_name="/list_users")
        assert call(dave_raw, "list_users", {}) == ("http", 401)
        assert call(
            dave_raw, "add_user", {"name": "mallory", "password": "mallory-password", "role": "admin"}
        ) == ("http", 401)
        again = logged_in(server["url"], "dave")
        status, users = call(again, "list_users", {})
        assert status == "ok" and [u["name"] for u in users["users"]] == ["dave"]
    finally:
        dave.close()
        root.close()


def test_a_deleted_users_sessions_end_and_a_new_user_of_that_name_gets_none(server):
    from sqlalchemy import text

    zoe = logged_in(server["url"], "zoe")
    assert whoami(zoe)[0] == "ok"
    with opened(server["db"]) as store:
        old_id = store.users.actor("zoe").id
        assert store.engine is not None
        with store.engine.begin() as conn:  # the operator deletes the account
            conn.execute(text("DELETE FROM users WHERE name = :name"), {"name": "zoe"})
    assert whoami(zoe) == ("http", 401)
    root = gradio_client(server["url"], "root")
    try:
        root.predict({"name": "zoe", "password": "another-zoe-pw"}, api_name="/add_user")
    finally:
        root.close()
    with opened(server["db"]) as store:
        assert store.users.actor("zoe").id == old_id  # SQLite gave the new account the same id
    assert whoami(zoe) == ("http", 401)  # the old cookie does not come back with the name


def test_a_change_on_one_replica_ends_sessions_on_another(server, tmp_path):
    """Two app replicas on one database: frank logs in on B; root changes his password on A."""
    replica_dir = tmp_path / "replica"
    replica_dir.mkdir()
    with serving(start_server(replica_dir, extra_env={"ALIGN_DATABASE_URL": server["db"]})) as replica:
        url_b = replica.url
        frank_b = logged_in(url_b, "frank")
        assert whoami(frank_b)[0] == "ok"
        root_a = logged_in(server["url"], "root")
        assert call(root_a, "set_password", {"name": "frank", "password": "frank-new-password"})[0] == "ok"
        assert whoami(frank_b) == ("http", 401)
        assert whoami(logged_in(url_b, "frank", "frank-new-password"))[0] == "ok"


# -- 6. login: no timing oracle, a lock per (name, address) that backs off -----------------------------


def login_status(url: str, name: str, password: str, address: str) -> tuple[int, float, str]:
    with http(url, address) as client:
        started = time.perf_counter()
        answer = client.post("/login", data={"username": name, "password": password})
        return answer.status_code, time.perf_counter() - started, answer.text


def test_unknown_names_take_as_long_as_known_ones(server):
    known, unknown = [], []
    for i in range(6):  # each attempt from its own address: no lock interferes
        known.append(login_status(server["url"], "alice", "wrong-password", f"127.0.1.{10 + i}")[1])
        unknown.append(login_status(server["url"], f"nobody{i}", "wrong-password", f"127.0.1.{30 + i}")[1])
    k, u = statistics.median(known), statistics.median(unknown)
    assert 0.5 < u / k < 2.0, (known, unknown)


def test_a_stranger_cannot_lock_an_admin_out(server):
    stranger = "127.0.2.5"
    for _ in range(MAX_FAILURES):
        assert login_status(server["url"], "root", "guessing-pw", stranger)[0] == 400
    status, _, text = login_status(server["url"], "root", USERS["root"][0], stranger)
    assert status == 429 and "too many failed logins for 'root'" in text
    # the admin, from their own address, is not locked out
    assert login_status(server["url"], "root", USERS["root"][0], "127.0.0.1")[0] == 200
    assert login_status(server["url"], "root", USERS["root"][0], "127.0.2.6")[0] == 200


def test_the_lock_backs_off_exponentially(server):
    address, name = "127.0.2.7", "nobody-backoff"
    waits = []
    for _ in range(4):
        for _ in range(MAX_FAILURES):
            assert login_status(server["url"], name, "guessing-pw", address)[0] == 400
        status, _, text = login_status(server["url"], name, "guessing-pw", address)
        assert status == 429, text
        wait = int(json.loads(text)["detail"].split("wait ")[1].split(" s")[0])
        waits.append(wait)
        time.sleep(wait + 0.3)
    assert waits == [1, 2, 4, 4], waits  # doubles each time, up to the maximum


def test_login_names_are_compared_as_accounts_are(server):
    address = "127.0.2.8"
    for _ in range(MAX_FAILURES):
        assert login_status(server["url"], "BOB", USERS["bob"][0], address)[0] == 400  # no account BOB
    assert login_status(server["url"], "BOB", USERS["bob"][0], address)[0] == 429
    assert login_status(server["url"], "bob", USERS["bob"][0], address)[0] == 200  # bob is another key


def test_server_survived(server):
    assert server["proc"].poll() is None
    assert whoami(logged_in(server["url"], "alice"))[0] == "ok"
