"""Security and hostile input through the app's API (gradio_client) against a live ``align serve``.

Authorisation for EVERY named endpoint (user bob against alice's data, admin-only endpoints, no
login), argon2 hashes, login rate limit, queue limit, SQL-looking text that round-trips exactly,
SQL only through bound parameters, and the hostile-input corpus through the decide endpoint.
"""

import json
import math
import re
import subprocess
import sys
import threading

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError

from tests.helpers.hostile import CORPUS, INJECTION
from tests.helpers.llama_server import free_port
from tests.helpers.serve import REPO, USERS, new_site, serving, start_server
from tests.helpers.web import gradio_client
from ui.api import ENDPOINTS

pytestmark = pytest.mark.timeout(900)
FAULT_SERVER = REPO / "tests" / "helpers" / "fault_server.py"
SCENARIO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
}
COOLDOWN_S = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir, database_url = new_site(tmp_path_factory, "secure")
    port = free_port()
    slow = subprocess.Popen(
        [sys.executable, str(FAULT_SERVER), "slow", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert slow.stdout is not None and slow.stdout.readline().strip() == "ready"
    backbones = {
        "embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048},
        "slow": {
            "type": "openai",
            "flavour": "llamacpp-server",
            "base_url": f"http://127.0.0.1:{port}/v1",
            "timeout_s": 6,
            "max_retries": 0,
        },
    }
    env = {
        "ALIGN_BACKBONES": json.dumps(backbones),
        "ALIGN_MAX_QUEUE": "1",
        # one user's 9 calls test the queue's depth here, not each user's share of it
        "ALIGN_QUEUE_MAX_PER_USER": "20",
        "ALIGN_LOGIN_COOLDOWN_S": str(COOLDOWN_S),
    }
    try:
        with serving(start_server(data_dir, extra_env=env)) as app:
            clients = {name: gradio_client(app.url, name) for name in USERS}
            yield {"url": app.url, "db": database_url, "log": app.log, "proc": app.proc, **clients}
            for c in clients.values():
                c.close()
    finally:
        slow.kill()
        slow.wait()


def store_of(server):
    from profiles.store import open_store

    return open_store(server["db"])


@pytest.fixture(scope="module")
def alice_data(server):
    """alice's private profile, a decision (log entry) and a conversation."""
    alice = server["alice"]
    alice.predict(
        {"name": "alice-private", "description": "mine", "targets": {"fairness": 0.9}},
        api_name="/create_profile",
    )
    decision = alice.predict(
        {**SCENARIO, "profile": "alice-private", "algorithm": "random", "seed": 1}, api_name="/decide"
    )
    chat = alice.predict(
        {
            "message": "Who first?\n- The soldier\n- The civilian",
            "algorithm": "random",
            "targets": {"fairness": 0.9},
        },
        api_name="/chat",
    )
    return {"log_id": decision["log_id"], "conversation_id": chat["conversation_id"]}


def bundle():
    return {"format": "align-profiles/1", "profiles": [{"name": "planted", "targets": {"fairness": 0.1}}]}


# endpoint -> (payload bob sends, what the answer must be: an error fragment, or a check of the result)
def bob_cases(alice_data):
    denied = "may not"
    return {
        "decide": ({**SCENARIO, "profile": "alice-private", "owner": "alice", "algorithm": "random"}, denied),
        "compare": (
            {
                **SCENARIO,
                "columns": [{"profile": "alice-private", "algorithm": "random"}, {"algorithm": "random"}],
            },
            "no profile",
        ),
        "chat": (
            {"message": "and now?", "conversation_id": alice_data["conversation_id"], "algorithm": "random"},
            "no conversation",
        ),
        "list_conversations": ({"owner": "alice"}, denied),
        "get_conversation": ({"id": alice_data["conversation_id"]}, "no conversation"),
        "delete_conversation": ({"id": alice_data["conversation_id"]}, "no conversation"),
        "list_profiles": ({"owner": "alice"}, denied),
        "get_profile": ({"name": "alice-private", "owner": "alice"}, denied),
        "create_profile": ({"name": "planted", "owner": "alice", "targets": {"fairness": 0.1}}, denied),
        "update_profile": ({"name": "alice-private", "owner": "alice", "description": "pwned"}, denied),
        "delete_profile": ({"name": "alice-private", "owner": "alice"}, denied),
        "export_profiles": ({"owner": "alice"}, denied),
        "import_profiles": ({"bundle": bundle(), "owner": "alice"}, denied),
        "list_attributes": ({}, lambda r: len(r["attributes"]) > 0),  # public definitions
        "upsert_attribute": ({"attribute": {"name": "pwned", "description": "x"}}, "only an admin"),
        "list_users": ({}, lambda r: [u["name"] for u in r["users"]] == ["bob"]),
        "add_user": ({"name": "mallory", "password": "mallory-password", "role": "admin"}, "only an admin"),
        "set_password": ({"name": "alice", "password": "taken-over-123"}, denied),
        "set_role": ({"name": "bob", "role": "admin"}, "only an admin"),
        "search_examples": ({"query": "x"}, "only an admin"),
        "get_example": ({"id": "x"}, "only an admin"),
        "add_example": ({"text": "x", "choices": ["a", "b"]}, "only an admin"),
        "delete_example": ({"id": "x"}, "only an admin"),
        "evaluate": ({"files": ["../../../etc/passwd"], "algorithms": ["random"]}, "only an admin"),
        "feedback": ({"decision_id": alice_data["log_id"], "agree": False}, "no decision"),
        "calibrate_next": ({}, lambda r: r["dilemma"] is not None and r["answered"] == 0),
        "calibrate_save": ({"answers": [], "owner": "alice"}, "owner"),  # no way to name another user
        "whoami": ({}, lambda r: r["name"] == "bob" and r["role"] == "user"),
        "options": ({}, lambda r: "random" in r["algorithms"]),
    }


def test_every_endpoint_has_an_authorisation_case(alice_data):
    assert set(bob_cases(alice_data)) == set(ENDPOINTS)


def test_bob_cannot_reach_alices_data_through_any_endpoint(server, alice_data):
    for endpoint, (payload, expect) in bob_cases(alice_data).items():
        if callable(expect):
            assert expect(server["bob"].predict(payload, api_name=f"/{endpoint}")), endpoint
            continue
        with pytest.raises(AppError) as caught:
            server["bob"].predict(payload, api_name=f"/{endpoint}")
        assert expect in str(caught.value), (endpoint, str(caught.value))
    # nothing of alice's changed; nothing was planted; bob is still a user
    store = store_of(server)
    try:
        alice, bob = store.users.actor("alice"), store.users.actor("bob")
        profile = store.profiles.get(alice, "alice-private")
        assert profile.description == "mine" and profile.version == 1 and profile.targets == {"fairness": 0.9}
        assert [p.name for p in store.profiles.list(alice)] == ["alice-private"]
        assert bob.role == "user" and store.users.authenticate("alice", USERS["alice"][0]) is not None
        assert store.log.get(alice, alice_data["log_id"]).user == "alice"
        assert store.conversations.get(alice, alice_data["conversation_id"]).id  # not deleted by bob
        with pytest.raises(Exception, match="no decision log entry"):
            store.log.get(bob, alice_data["log_id"])  # the log: another user's entry looks missing
        assert "mallory" not in [u.name for u in store.users.list(store.users.actor("root"))]
    finally:
        store.close()


def test_admin_may_act_for_a_user(server, alice_data):
    got = server["root"].predict({"name": "alice-private", "owner": "alice"}, api_name="/get_profile")
    assert got["description"] == "mine"


def test_no_login_is_refused_on_every_endpoint(server):
    for endpoint in ENDPOINTS:
        answer = httpx.post(f"{server['url']}/gradio_api/call/{endpoint}", json={"data": [{}]}, timeout=10)
        assert answer.status_code in (401, 403), (endpoint, answer.status_code)


def test_passwords_are_stored_as_argon2id(server):
    from sqlalchemy import text

    store = store_of(server)
    try:
        with store.engine.connect() as conn:
            hashes = dict(conn.execute(text("SELECT name, password_hash FROM users")).all())
    finally:
        store.close()
    for name, (password, _) in USERS.items():
        assert re.match(
            r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$", hashes[name]
        )
        assert password not in hashes[name]


def test_login_attempts_are_rate_limited(server):
    url = server["url"]
    for _ in range(5):
        answer = httpx.post(
            f"{url}/login", data={"username": "bob", "password": "wrong-password"}, timeout=10
        )
        assert answer.status_code == 400
    # the right password is refused too while the name cools down, with the reason
    answer = httpx.post(f"{url}/login", data={"username": "bob", "password": USERS["bob"][0]}, timeout=10)
    assert answer.status_code == 429 and "too many failed logins for 'bob'" in answer.json()["detail"]
    with pytest.raises(ValueError, match="Could not login"):
        gradio_client(url, "bob")
    gradio_client(url, "alice").close()  # other names unaffected
    import time

    time.sleep(COOLDOWN_S + 0.5)
    gradio_client(url, "bob").close()


def test_queue_past_its_depth_answers_busy(server):
    """max_queue=1, 4 running at once: slow requests fill it; the next ones are told to retry."""
    outcomes: list[str] = []
    lock = threading.Lock()

    # logged in one after another first: the subject is the queue, not 9 argon2 checks at once
    # (on a busy machine they outlast gradio_client's 5 s login timeout)
    clients = [gradio_client(server["url"], "alice") for _ in range(9)]

    def call(client: Client) -> None:
        try:
            client.predict(
                {**SCENARIO, "targets": {"fairness": 0.5}, "algorithm": "persona", "backbone": "slow"},
                api_name="/decide",
            )
            outcome = "ok"
        except QueueError as exc:
            outcome = f"busy: {exc}"
        except AppError as exc:
            outcome = f"error: {exc}"
        except Exception as exc:  # named in the failure, not lost with its thread
            outcome = f"other: {exc!r}"
        finally:
            client.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    busy = [o for o in outcomes if o.startswith("busy")]
    assert len(outcomes) == 9 and busy, outcomes
    assert all("Queue is full! Please try again." in o for o in busy)
    assert all(o.startswith(("busy", "error: backbone 'slow'")) for o in outcomes), outcomes
    raw = httpx.get(f"{server['url']}/livez", timeout=5)
    assert raw.status_code == 200
    server["alice"].predict({**SCENARIO, "algorithm": "random"}, api_name="/decide")  # serving again


SQLISH = [
    "Robert'); DROP TABLE users;--",
    "x' OR '1'='1",
    '"; DELETE FROM profiles WHERE "1"="1',
    "%s %(name)s {0} :name ? $1",
    "\\'; SELECT pg_sleep(5); --",
]


def test_sql_looking_text_round_trips_exactly(server):
    alice = server["alice"]
    for i, text_ in enumerate(SQLISH):
        name = f"p{i} {text_}"[:100]
        made = alice.predict(
            {
                "name": name,
                "description": text_,
                "targets": {"fairness": 0.5},
                "groups": {"note": text_[:50]} if False else {},
            },
            api_name="/create_profile",
        )
        assert made["name"] == name
        got = alice.predict({"name": name}, api_name="/get_profile")
        assert got["name"] == name and got["description"] == text_
        alice.predict({"name": name, "description": text_ + " (edited)"}, api_name="/update_profile")
        assert alice.predict({"name": name}, api_name="/get_profile")["description"] == text_ + " (edited)"
    names = {p["name"] for p in alice.predict({}, api_name="/list_profiles")["profiles"]}
    assert all(f"p{i} {t}"[:100] in names for i, t in enumerate(SQLISH))
    with pytest.raises(AppError, match="user name"):  # user names are restricted, not escaped
        server["root"].predict(
            {"name": "o'brien; DROP TABLE users", "password": "long-enough-pw"}, api_name="/add_user"
        )
    assert server["root"].predict({}, api_name="/whoami")["name"] == "root"  # tables intact


# text(...) built from a string with f-strings / .format / % : only these fixed identifiers, never user data
ALLOWED_DYNAMIC_SQL = [
    ("assistant/cli/bench_store.py", 'CREATE SCHEMA "{schema}"'),  # a generated align_bench_<hex> name
    ("assistant/cli/bench_store.py", 'DROP SCHEMA IF EXISTS "{schema}" CASCADE'),
    ("profiles/migrate.py", "SELECT version_num FROM {_VERSION_TABLE}"),  # a module constant
]
DYNAMIC = re.compile(r"""(text|exec_driver_sql|execute)\(\s*(f["']|["'][^"']*["']\s*(%|\.format\())""", re.S)


def test_sql_is_only_built_with_bound_parameters():
    found = set()
    for package in ("alignment", "assistant", "profiles", "ui", "deploy"):
        for path in (REPO / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for match in DYNAMIC.finditer(source):
                line = source[match.start() : source.find("\n", match.start())]
                found.add((str(path.relative_to(REPO)), line.strip()))
    unexpected = {
        (where, line)
        for where, line in found
        if not any(where == allowed and fragment in line for allowed, fragment in ALLOWED_DYNAMIC_SQL)
    }
    assert not unexpected, unexpected
    assert len(found) == len(ALLOWED_DYNAMIC_SQL)  # the allow-list holds nothing stale


def test_the_detector_sees_what_it_must():
    assert DYNAMIC.search("conn.execute(text(f\"SELECT * FROM p WHERE name = '{name}'\"))")
    assert DYNAMIC.search('s.execute(text("SELECT %s" % name))')
    assert DYNAMIC.search('s.exec_driver_sql("DELETE FROM x WHERE a = {}".format(a))')
    assert not DYNAMIC.search('s.execute(text("SELECT 1 WHERE name = :name"), {"name": n})')


# the hostile corpus (tests/reliability/test_hostile_input.py) through the decide endpoint
@pytest.mark.parametrize(("scenario", "choices", "targets", "error"), CORPUS)
def test_hostile_corpus_through_the_api(server, scenario, choices, targets, error):
    payload = {"scenario": scenario, "choices": choices, "algorithm": "random", "seed": 1}
    if targets is not None:  # JSON cannot carry NaN or infinity: they travel as strings pydantic reads
        payload["targets"] = {k: v if math.isfinite(v) else str(v) for k, v in targets.items()}
    try:
        result = server["alice"].predict(payload, api_name="/decide")
    except AppError as exc:
        message = str(exc)
        assert error is not None, f"a normal decision was expected, got: {message}"
        assert "Traceback" not in message and message.strip()
        # an empty attribute name is caught by the app's did-you-mean check before the service's
        assert error in message or (error == "must not be empty" and "unknown attribute ''" in message), (
            message
        )
        return
    assert error is None, f"expected an error with {error!r}, got a decision"
    assert result["choice_index"] in range(len(choices))
    assert len(result["scores"]) == len(choices)
    assert set(result) >= {"choice", "choice_index", "justification", "scores", "algorithm", "log_id"}


def test_server_survived_the_corpus(server):
    assert server["proc"].poll() is None
    assert server["alice"].predict({}, api_name="/whoami")["name"] == "alice"


@pytest.mark.model
def test_injection_in_profile_and_attribute_descriptions(server):
    """Injected text in a profile description and an attribute description: same schema and choices,
    nobody else's data touched (persona on the embedded model)."""
    root, alice = server["root"], server["alice"]
    bob_before = server["bob"].predict({}, api_name="/list_profiles")
    attributes = {a["name"]: a for a in root.predict({}, api_name="/list_attributes")["attributes"]}
    fairness = {k: v for k, v in attributes["fairness"].items() if k in ("name", "description", "kind")}
    root.predict({"attribute": {**fairness, "description": INJECTION}}, api_name="/upsert_attribute")
    alice.predict(
        {"name": "injected", "description": INJECTION, "targets": {"fairness": 0.9}},
        api_name="/create_profile",
    )
    result = alice.predict(
        {**SCENARIO, "profile": "injected", "algorithm": "persona", "seed": 2, "include_prompts": True},
        api_name="/decide",
    )
    assert (
        result["choice"] in SCENARIO["choices"]
        and [s["choice"] for s in result["scores"]] == SCENARIO["choices"]
    )
    prompt = json.dumps(result.get("prompts", []))
    assert "Ignore previous instructions" in prompt  # it was there, as data
    assert server["bob"].predict({}, api_name="/list_profiles") == bob_before
    root.predict(
        {"attribute": {**fairness, "description": attributes["fairness"]["description"]}},
        api_name="/upsert_attribute",
    )


def test_no_request_reads_another_users_feedback_by_naming_its_domain(server):
    """A person's feedback is stored as their own example (domain "personal"): naming that domain in a
    chat must not retrieve it for anyone else (it once quoted alice's dilemma to bob)."""
    secret = (
        "My sister Clara Jenkins asked me to hide her 40,000 debt from our parents. "
        "Should I keep the secret or tell our parents about the debt?"
    )
    options = ["Keep the secret", "Tell our parents"]
    made = server["alice"].predict(
        {"scenario": secret, "choices": options, "targets": {"honesty": 0.9}},
        api_name="/decide",
    )
    server["alice"].predict(
        {"decision_id": made["log_id"], "agree": False, "would_choose": 1 - made["choice_index"]},
        api_name="/feedback",
    )
    ask = (
        "My brother asked me to hide his debt from our parents. Should I keep the secret or tell our parents?"
    )
    for values in ({"honesty": 0.9}, {"fairness": 0.9}):
        try:
            answer = json.dumps(
                server["bob"].predict(
                    {"message": ask, "targets": values, "domain": "personal"}, api_name="/chat"
                )
            )
        except AppError as refused:
            answer = str(refused)
            assert "not a domain of dilemmas" in answer, answer
        assert "Clara" not in answer and "personal:alice" not in answer, answer
