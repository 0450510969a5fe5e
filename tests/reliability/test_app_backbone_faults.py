"""The OpenAI-compatible backbone killed, slow or answering garbage, through the app's API.

Real processes: ``align serve`` (SQLite, login), a llama-cpp-python server with an API key, and a
misbehaving server process (fault_server.py). Each failure reaches the caller as one clear message,
is in the decision log as failed, and the server keeps serving (a random decision right after).
The same server is then used to check that no password or API key reaches a log or a file.
"""

import json
import signal
import time
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.helpers.fault_server import fault_process
from tests.helpers.llama_server import LlamaServer
from tests.helpers.serve import USERS, create_users, start_server, stop, wait_ready

pytestmark = [pytest.mark.server, pytest.mark.timeout(900)]

API_KEY = "sk-align-test-7f3a9c1e5b"  # the llama server demands it; it must never be written anywhere
NEW_PASSWORD = "alice-new-Secret-4821"
SCENARIO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
}
# what the message may say of a backbone that is down (cannot be reached) or garbled (answers unreadably)
DOWN = ["cannot reach", "not reachable", "unavailable", "did not answer", "could not connect", "refused"]
GARBLED = ["not a chat completion", "not JSON", "unreadable", "could not read", "no valid answer", "answer"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from assistant.models_local import embedded_model_path

    data_dir = tmp_path_factory.mktemp("faults")
    database_url = f"sqlite:///{data_dir / 'align.sqlite3'}"
    create_users(database_url)
    llama = LlamaServer(embedded_model_path(), api_key=API_KEY).start()
    slow, slow_url = fault_process("slow")
    garbage, garbage_url = fault_process("garbage")
    common = {"type": "openai", "flavour": "llamacpp-server"}
    backbones = {
        "embedded": {"type": "llamacpp", "n_threads": 1, "n_ctx": 2048},
        "remote": {**common, "base_url": llama.base_url, "api_key": API_KEY, "timeout_s": 120},
        "slow": {**common, "base_url": slow_url, "timeout_s": 1.5, "max_retries": 1, "backoff_s": 0.1},
        "garbage": {**common, "base_url": garbage_url, "timeout_s": 10, "max_retries": 1, "backoff_s": 0.1},
    }
    proc, url, log = start_server(data_dir, extra_env={"ALIGN_BACKBONES": json.dumps(backbones)})
    try:
        wait_ready(proc, url, log)
        alice = Client(url, auth=("alice", USERS["alice"][0]), verbose=False)
        yield {
            "url": url,
            "log": log,
            "data_dir": data_dir,
            "db": database_url,
            "alice": alice,
            "llama": llama,
            "proc": proc,
        }
        alice.close()
    finally:
        stop(proc)
        llama.stop()
        for p in (slow, garbage):
            p.kill()
            p.wait()


def last_log_entry(world):
    from profiles.store import open_store

    store = open_store(world["db"])
    try:
        actor = store.users.actor("alice")
        newest = store.log.list(actor, limit=1)[0]
        return store.log.get(actor, newest.id)
    finally:
        store.close()


def still_serving(world):
    result = world["alice"].predict({**SCENARIO, "algorithm": "random", "seed": 3}, api_name="/decide")
    assert result["choice"] in SCENARIO["choices"]


def expect_failure(world, backbone, pattern, within_s):
    started = time.perf_counter()
    with pytest.raises(AppError) as caught:
        world["alice"].predict(
            {
                **SCENARIO,
                "targets": {"fairness": 0.7},
                "algorithm": "persona",
                "backbone": backbone,
                "seed": 1,
            },
            api_name="/decide",
        )
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert any(p in message for p in pattern), message
    assert "Traceback" not in message and len(message) < 800
    assert elapsed < within_s, f"{elapsed:.1f} s"
    entry = last_log_entry(world)
    assert entry.status == "failed" and entry.backbone == backbone and entry.error
    assert entry.error.splitlines()[0] in message or message in entry.error or entry.error[:60] in message
    still_serving(world)
    print(f"{backbone}: failed in {elapsed:.2f} s with: {message}")
    return message


def test_backbone_server_killed(world):
    first = world["alice"].predict(
        {**SCENARIO, "targets": {"fairness": 0.7}, "algorithm": "persona", "backbone": "remote", "seed": 1},
        api_name="/decide",
    )
    assert first["backbone"] == "remote" and first["choice"] in SCENARIO["choices"]
    process = world["llama"].process
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    expect_failure(world, "remote", DOWN, within_s=30)


def test_backbone_slow_beyond_the_timeout(world):
    message = expect_failure(world, "slow", ["timeout_s=1.5"], within_s=20)
    assert "did not answer" in message


def test_backbone_answering_garbage(world):
    expect_failure(world, "garbage", GARBLED, within_s=30)


def test_chat_endpoint_reports_the_failure_and_goes_on(world):
    alice = world["alice"]
    message = "Two patients, one medic. Who is treated first?\n- The soldier\n- The civilian"
    try:
        answer = alice.predict(
            {"message": message, "targets": {"fairness": 0.7}, "algorithm": "persona", "backbone": "slow"},
            api_name="/chat",
        )
        text = json.dumps(answer)  # the chat may answer with the error as its reply
        assert "timeout_s=1.5" in text, text
    except AppError as exc:
        assert "timeout_s=1.5" in str(exc)
    still_serving(world)


def test_ui_handler_path_turns_the_failure_into_a_message(world, tmp_path):
    """What a UI handler does: the facade call wrapped in ``guarded`` -> gr.Error with the message."""
    from assistant.app import AppService
    from assistant.compose import build_service
    from assistant.settings import Settings
    from profiles.store import open_store
    from ui.api import call_endpoint
    from ui.common import acting, guarded

    settings = Settings(
        data_dir=tmp_path,
        database_url=world["db"],
        backbones={
            "garbage": json.loads(
                json.dumps(
                    {
                        "type": "openai",
                        "flavour": "llamacpp-server",
                        "timeout_s": 1.5,
                        "max_retries": 0,
                        "base_url": "http://127.0.0.1:9/v1",
                    }
                )
            )
        },
        default_backbone="garbage",
    )
    store = open_store(world["db"])
    app = AppService(store, build_service(settings), work_dir=tmp_path)
    try:
        request = gr.Request(username="alice")
        handler = guarded(
            lambda payload, request: call_endpoint(app, "decide", acting(app, request), payload)
        )
        with pytest.raises(gr.Error) as caught:
            handler({**SCENARIO, "targets": {"fairness": 0.7}, "algorithm": "persona"}, request)
        assert "garbage" in caught.value.message and "Traceback" not in caught.value.message
        ok = handler({**SCENARIO, "algorithm": "random", "seed": 1}, request)
        assert ok["choice"] in SCENARIO["choices"]
    finally:
        app.service.backbones.close()
        store.close()


def test_no_password_or_api_key_is_written_anywhere(world):
    """After logins, a password change and calls to a backbone with an API key: grep every file."""
    alice = world["alice"]
    alice.predict(
        {"name": "alice", "password": NEW_PASSWORD, "current_password": USERS["alice"][0]},
        api_name="/set_password",
    )
    again = Client(world["url"], auth=("alice", NEW_PASSWORD), verbose=False)
    assert again.predict({}, api_name="/whoami")["name"] == "alice"
    again.close()
    root = Client(world["url"], auth=("root", USERS["root"][0]), verbose=False)
    root.predict({"name": "bob", "password": "bob-changed-Pass-99"}, api_name="/set_password")
    root.close()
    with pytest.raises(ValueError, match="Could not login"):
        Client(world["url"], auth=("alice", "a-wrong-password-xyz"), verbose=False)
    secrets = [
        API_KEY,
        NEW_PASSWORD,
        "bob-changed-Pass-99",
        "a-wrong-password-xyz",
        *(password for password, _ in USERS.values()),
    ]
    files = [p for p in Path(world["data_dir"]).rglob("*") if p.is_file()]
    assert world["log"] in files and len(files) >= 2
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret!r} found in {path}"
