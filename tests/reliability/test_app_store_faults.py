"""Store faults under a live ``align serve``: PostgreSQL connections terminated during load, and the
Chroma server stopped. Real processes: the app, PostgreSQL at 127.0.0.1:5432, ``chroma run``."""

import threading
import time
import uuid

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from sqlalchemy import create_engine, text

from tests.helpers.examples import ChromaServer
from tests.helpers.profiles_dbs import PG_URL, database
from tests.helpers.serve import USERS, create_users, start_server, stop, wait_ready

pytestmark = pytest.mark.timeout(900)
SCENARIO = {
    "scenario": "Two patients, one medic. Who is treated first?",
    "choices": ["The soldier", "The civilian"],
}


@pytest.mark.postgres
def test_postgres_connections_terminated_during_load(tmp_path):
    app_name = f"align-fault-{uuid.uuid4().hex[:8]}"
    with database("postgres", tmp_path) as (_, schema):
        url = f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={app_name}"
        create_users(url)
        # four clients as fast as they can for 14 s: more than a person's 60 requests a minute, which
        # this test is not about
        env = {"ALIGN_DATABASE_URL": url, "ALIGN_API_REQUESTS_PER_MINUTE": "100000"}
        proc, base, log = start_server(tmp_path, extra_env=env)
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            wait_ready(proc, base, log)
            acked: set[str] = set()
            errors: list[str] = []
            after_last_kill: list[str] = []
            lock = threading.Lock()
            stop_at = time.monotonic() + 14
            last_kill = [float("inf")]

            def user(name: str, k: int) -> None:
                client = Client(base, auth=(name, USERS[name][0]), verbose=False)
                i = 0
                while time.monotonic() < stop_at:
                    profile = f"t{k}-{i}"
                    try:
                        if i % 2:
                            client.predict({**SCENARIO, "algorithm": "random", "seed": i}, api_name="/decide")
                        else:
                            made = client.predict(
                                {"name": profile, "targets": {"fairness": 0.5}}, api_name="/create_profile"
                            )
                            with lock:
                                acked.add(f"{name}/{made['name']}")
                        with lock:
                            if time.monotonic() > last_kill[0]:
                                after_last_kill.append(profile)
                    except AppError as exc:
                        with lock:
                            errors.append(str(exc))
                    i += 1
                client.close()

            threads = [threading.Thread(target=user, args=(n, k)) for k, n in enumerate(["alice", "bob"] * 2)]
            for t in threads:
                t.start()
            terminated = 0
            for _ in range(4):
                time.sleep(2)
                with admin.connect() as conn:
                    terminated += len(
                        conn.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"
                            ),
                            {"a": app_name},
                        ).all()
                    )
            last_kill[0] = time.monotonic()
            for t in threads:
                t.join(timeout=120)
            assert terminated >= 4, terminated  # the app's pooled connections were cut, several times
            for message in errors:  # in-flight requests fail with the store's own explanation
                assert "the database did not answer" in message and "retry" in message, message
            assert len(after_last_kill) >= 4, "requests after the last termination must succeed"
            assert proc.poll() is None  # no restart
            from profiles.store import open_store

            store = open_store(url)
            try:
                stored = {
                    f"{n}/{p.name}"
                    for n in ("alice", "bob")
                    for p in store.profiles.list(store.users.actor(n))
                }
            finally:
                store.close()
            assert acked and acked <= stored, acked - stored  # every acknowledged write is there
            print(
                f"PostgreSQL: {terminated} connections terminated, {len(acked)} acknowledged writes kept, "
                f"{len(errors)} in-flight requests failed clearly, {len(after_last_kill)} ok afterwards"
            )
        finally:
            stop(proc)
            admin.dispose()


@pytest.mark.model
def test_chroma_stopped_icl_fails_clearly_the_rest_works(tmp_path):
    chroma = ChromaServer(tmp_path / "chroma")
    chroma.start()
    data_dir = tmp_path / "app"
    data_dir.mkdir()
    create_users(f"sqlite:///{data_dir / 'align.sqlite3'}")
    env = {"ALIGN_CHROMA_HOST": chroma.host, "ALIGN_CHROMA_PORT": str(chroma.port), "HF_HUB_OFFLINE": "1"}
    proc, base, log = start_server(data_dir, extra_env=env)
    try:
        wait_ready(proc, base, log)
        root = Client(base, auth=("root", USERS["root"][0]), verbose=False)
        alice = Client(base, auth=("alice", USERS["alice"][0]), verbose=False)
        for i, (text_, choices) in enumerate(
            [
                (
                    "A medic must choose who to treat first after an explosion.",
                    ["The soldier", "The civilian"],
                ),
                ("One ventilator is left in the hospital.", ["The older patient", "The younger patient"]),
                ("Two wounded people and one stretcher.", ["The enemy fighter", "The friendly fighter"]),
            ]
        ):
            root.predict(
                {
                    "text": text_,
                    "choices": choices,
                    "scores": [{"fairness": 0.2}, {"fairness": 0.9}],
                    "chosen": 1,
                    "domain": "triage",
                    "id": f"ex{i}",
                },
                api_name="/add_example",
            )
        icl = {**SCENARIO, "targets": {"fairness": 0.9}, "algorithm": "icl", "seed": 1}
        assert alice.predict(icl, api_name="/decide")["choice"] in SCENARIO["choices"]
        chroma.stop()
        with pytest.raises(AppError) as caught:
            alice.predict(icl, api_name="/decide")
        message = str(caught.value)
        assert "Chroma server" in message and "did not answer" in message and "persona" in message, message
        # the rest works: random decisions, profiles
        assert alice.predict({**SCENARIO, "algorithm": "random"}, api_name="/decide")["choice"]
        alice.predict({"name": "still-works", "targets": {"fairness": 0.3}}, api_name="/create_profile")
        assert alice.predict({"name": "still-works"}, api_name="/get_profile")["targets"] == {"fairness": 0.3}
        from profiles.store import open_store

        store = open_store(f"sqlite:///{data_dir / 'align.sqlite3'}")
        try:
            actor = store.users.actor("alice")
            entry = store.log.get(actor, store.log.list(actor, limit=2)[1].id)
            assert entry.status == "failed" and entry.algorithm == "icl" and "Chroma" in (entry.error or "")
        finally:
            store.close()
        print(f"Chroma stopped: {message}")
    finally:
        stop(proc)
        chroma.stop()
