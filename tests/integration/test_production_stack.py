"""The production configuration of deploy/docker-compose.yml, on loopback and without containers.

Started by the test from the settings block that the compose file passes to its app replicas (read
from deploy/docker-compose.yml and deploy/.env.example, so they cannot drift), with only these swaps:
- the host names ``postgres``, ``chroma`` and ``vllm`` become loopback servers: PostgreSQL at
  127.0.0.1:5432 (a fresh schema, dropped afterwards), a real ``chroma run`` server, and
  llama-cpp-python's OpenAI-compatible server standing in for vLLM (started with the compose file's
  served model name, context length and API key);
- the backbone flavour becomes ``llamacpp-server`` (that server takes a schema as ``json_object``);
- each replica gets its own ALIGN_DATA_DIR, so nothing can be shared through a local disk.
Then the compose file's ``migrate`` command runs once, ``align health --json`` reports all three
components ok, two app replicas serve one user's conversation alternately, and with the model
server down ``align health`` reports unhealthy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers.deploy_env import app_environment, load_compose
from tests.helpers.examples import ChromaServer
from tests.helpers.llama_server import LlamaServer

pytestmark = [pytest.mark.production, pytest.mark.postgres, pytest.mark.server]

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ALIGN = str(Path(sys.executable).parent / "align")


@dataclass
class Stack:
    env: dict[str, str]  # the app replicas' environment (compose block, loopback hosts)
    llama: LlamaServer
    chroma: ChromaServer
    schema: str
    tmp: Path
    replicas: list[subprocess.Popen[bytes]] = field(default_factory=list)
    admin: tuple[str, str] = ("", "")  # the compose file's bootstrap admin (user, password)
    urls: list[str] = field(default_factory=list)  # the running app replicas

    def replica_env(self, index: int) -> dict[str, str]:
        data_dir = self.tmp / f"replica-{index}"
        data_dir.mkdir(exist_ok=True)
        return {**_base_env(), **self.env, "ALIGN_DATA_DIR": str(data_dir)}

    def align(self, *args: str, index: int = 0, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ALIGN, *args],
            env=self.replica_env(index),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmp,
        )


def _base_env() -> dict[str, str]:
    """The test process's environment without any ALIGN_* setting of its own."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ALIGN_")},
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def _loopback_env(
    compose_env: dict[str, str], schema: str, chroma: ChromaServer, llama: LlamaServer
) -> dict[str, str]:
    env = {str(k): str(v) for k, v in compose_env.items()}
    compose_db = make_url(env["ALIGN_DATABASE_URL"])
    assert compose_db.host == "postgres" and compose_db.drivername == "postgresql+psycopg"
    env["ALIGN_DATABASE_URL"] = compose_db.set(
        username="postgres",
        password=None,
        host="127.0.0.1",
        port=5432,
        database="test",
        query={"options": f"-csearch_path={schema}"},
    ).render_as_string(hide_password=False)
    assert env["ALIGN_CHROMA_HOST"] == "chroma"
    env["ALIGN_CHROMA_HOST"], env["ALIGN_CHROMA_PORT"] = chroma.host, str(chroma.port)
    base = urlsplit(env["ALIGN_BACKBONES__VLLM__BASE_URL"])
    assert base.hostname == "vllm"
    env["ALIGN_BACKBONES__VLLM__BASE_URL"] = urlunsplit(base._replace(netloc=f"{llama.host}:{llama.port}"))
    env["ALIGN_BACKBONES__VLLM__FLAVOUR"] = "llamacpp-server"
    return env


def _vllm_arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from assistant.models_local import embedded_model_path

    tmp = tmp_path_factory.mktemp("production")
    compose = load_compose()
    compose_env = app_environment()
    vllm_command = compose["services"]["vllm"]["command"]
    schema = f"align_prod_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    chroma = ChromaServer(tmp / "chroma")
    llama = LlamaServer(
        embedded_model_path(),
        n_ctx=int(_vllm_arg(vllm_command, "--max-model-len")),
        api_key=compose_env[compose_env["ALIGN_BACKBONES__VLLM__API_KEY_ENV"]],
        extra_args=["--model_alias", _vllm_arg(vllm_command, "--served-model-name"), "--n_threads", "1"],
    )
    stack: Stack | None = None
    try:
        chroma.start()
        llama.start()
        stack = Stack(_loopback_env(compose_env, schema, chroma, llama), llama, chroma, schema, tmp)
        # The compose file's one-shot migrate service, run once before any replica.
        migrate = compose["services"]["migrate"]
        assert migrate["command"][:2] == ["sh", "-c"]
        migrate_env = _loopback_env(migrate["environment"], schema, chroma, llama)
        stack.admin = (migrate_env["BOOTSTRAP_ADMIN"], migrate_env["BOOTSTRAP_ADMIN_PASSWORD"])
        done = subprocess.run(
            migrate["command"],
            env={**_base_env(), **migrate_env, "ALIGN_DATA_DIR": str(tmp / "migrate")},
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp,
        )
        assert done.returncode == 0, done.stderr
        yield stack
    finally:
        if stack is not None:
            for process in stack.replicas:
                process.terminate()
            for process in stack.replicas:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        llama.stop()
        chroma.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _health(stack: Stack, index: int = 0) -> tuple[int, dict]:
    result = stack.align("health", "--json", "--timeout", "5", index=index)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_migrations_ran_once_into_the_fresh_schema(stack: Stack):
    result = stack.align("db", "current", "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["up_to_date"] is True
    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                    {"s": stack.schema},
                ).scalars()
            )
            seeded = conn.execute(
                text(f'SELECT count(*) FROM "{stack.schema}".attribute_definitions')
            ).scalar_one()
    finally:
        engine.dispose()
    assert "alembic_version" in tables and "conversations" in tables
    assert seeded > 0  # `align db seed` loaded the attribute packs


def test_health_reports_all_three_components_ok(stack: Stack):
    code, report = _health(stack)
    assert code == 0, report
    components = report["components"]
    assert set(components) == {"database", "chroma", "backbone"}
    assert all(c["ok"] for c in components.values()), components
    assert (
        components["chroma"]["target"] == f"http://{stack.chroma.host}:{stack.chroma.port}/api/v2/heartbeat"
    )
    assert components["backbone"]["detail"] == "backbone 'vllm' serves align-llm"
    assert "revision" in components["database"]["detail"]


SITUATION = (
    "Two people are hurt after a vehicle crash and I have one medical kit: the driver who caused "
    "the crash, and a bystander who was hit.\n- Treat the driver\n- Treat the bystander"
)


def _start_replica(stack: Stack, index: int) -> str:
    """The compose file's app command, bound to loopback on a free port, with its own data dir."""
    from tests.helpers.llama_server import free_port

    command = list(load_compose()["services"]["app"]["command"])
    assert command[:2] == ["align", "serve"]
    port = free_port()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    log = stack.tmp / f"replica-{index}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            env=stack.replica_env(index),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=stack.tmp / f"replica-{index}",
        )
    stack.replicas.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"replica {index} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=10).status_code == 200:
                stack.urls.append(url)
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"replica {index} was not healthy within 120 s:\n{log.read_text()}")


def test_two_replicas_serve_one_conversation_alternately(stack: Stack):
    from gradio_client import Client

    urls = [_start_replica(stack, 0), _start_replica(stack, 1)]
    a, b = (Client(url, auth=stack.admin, verbose=False) for url in urls)
    assert (
        a.predict({}, api_name="/whoami")["name"]
        == b.predict({}, api_name="/whoami")["name"]
        == stack.admin[0]
    )

    turn1 = a.predict(
        {"message": SITUATION, "targets": {"moral_deservingness": 0.9}, "seed": 3}, api_name="/chat"
    )
    assert turn1["kind"] == "decision", turn1
    conversation = turn1["conversation_id"]
    chosen = turn1["decision"]["choice"]
    assert chosen in ("Treat the driver", "Treat the bystander")
    # Replica B continues the conversation that replica A started: "why?" is answered from the
    # decision log that A wrote to PostgreSQL.
    turn2 = b.predict({"message": "why?", "conversation_id": conversation}, api_name="/chat")
    assert turn2["kind"] == "why" and turn2["conversation_id"] == conversation, turn2
    other = "Treat the bystander" if chosen == "Treat the driver" else "Treat the driver"
    turn3 = a.predict({"message": f"why not {other}?", "conversation_id": conversation}, api_name="/chat")
    assert turn3["kind"] == "why_not" and turn3["conversation_id"] == conversation, turn3

    listed_a = a.predict({}, api_name="/list_conversations")["conversations"]
    listed_b = b.predict({}, api_name="/list_conversations")["conversations"]
    assert [c["id"] for c in listed_a] == [c["id"] for c in listed_b] == [conversation]
    full_a = a.predict({"id": conversation}, api_name="/get_conversation")
    full_b = b.predict({"id": conversation}, api_name="/get_conversation")
    assert full_a == full_b
    messages = full_b["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert [m["content"] for m in messages[::2]] == [SITUATION, "why?", f"why not {other}?"]
    assert [m["content"] for m in messages[1::2]] == [turn1["text"], turn2["text"], turn3["text"]]
    assert messages[1]["decision_id"] == turn1["decision_id"] is not None

    # Nothing went through a replica's local disk: each has its own data dir, neither holds a database.
    for index in (0, 1):
        assert not list((stack.tmp / f"replica-{index}").rglob("*.sqlite3"))


# Keep this test last in the module: it stops the model server of the shared stack.
def test_health_reports_unhealthy_when_the_model_server_is_down(stack: Stack):
    stack.llama.stop()
    code, report = _health(stack)
    assert code == 1 and report["ok"] is False
    components = report["components"]
    assert components["backbone"]["ok"] is False
    assert "start the model server" in components["backbone"]["detail"]
    assert components["database"]["ok"] and components["chroma"]["ok"]
    assert len(stack.urls) == 2
    for url in stack.urls:  # the replicas stay up and tell the orchestrator the backbone is down
        response = httpx.get(f"{url}/healthz", timeout=20)
        assert response.status_code == 503
        assert response.json()["components"]["backbone"]["ok"] is False
        assert httpx.get(f"{url}/livez", timeout=5).json() == {"ok": True}
