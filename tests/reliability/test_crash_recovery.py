"""SIGKILL in the middle of writes: after restart SQLite and Chroma open cleanly and every
acknowledged write is there."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

WRITER = r"""
import os
import sys
from alignment.models import Example
from assistant.stores.embedding import MiniLMEmbedder
from assistant.stores.examples import open_example_store
from assistant.settings import Settings
from profiles.schemas import ProfileCreate
from profiles.store import open_store

settings = Settings()
store = open_store(settings.effective_database_url())
examples = open_example_store(settings, MiniLMEmbedder())
from profiles.seed import seed
seed(store.attributes, store.users.ensure("local", role="admin"))
actor = store.users.ensure("writer")
i = int(os.environ.get("ALIGN_CRASH_OFFSET", "0"))
while True:
    store.profiles.create(actor, ProfileCreate(name=f"p{i}", targets={"fairness": (i % 10) / 10}))
    print(f"profile p{i}", flush=True)
    if i % 3 == 0:
        examples.add_examples([Example(id=f"ex{i}", text=f"Scenario number {i}: who do you treat first?",
                                       choices=["the soldier", "the civilian"],
                                       scores=[{"fairness": 0.0}, {"fairness": 1.0}], domain="triage",
                                       source="crash-test", scenario_id=f"s{i}")])
        print(f"example ex{i}", flush=True)
    i += 1
"""


@pytest.mark.timeout(600)
def test_sigkill_mid_writes_loses_no_acknowledged_write(tmp_path):
    env = {
        **os.environ,
        "ALIGN_DATA_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    acked: dict[str, set[str]] = {"profile": set(), "example": set()}
    for round_ in range(2):  # kill twice: the second run starts on the first one's leftovers
        env["ALIGN_CRASH_OFFSET"] = str(1000 * round_)
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        wanted = 12 * (round_ + 1)
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while len(acked["profile"]) < wanted and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer died: {proc.stderr.read() if proc.stderr else ''}")
            kind, name = line.split()
            acked[kind].add(name)
        proc.send_signal(signal.SIGKILL)  # in the middle of the next write
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()
        proc.stdout.close()
    assert len(acked["profile"]) >= 24 and acked["example"]

    db = tmp_path / "align.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check = r"""
import json
from assistant.stores.embedding import MiniLMEmbedder
from assistant.stores.examples import open_example_store
from assistant.settings import Settings
from profiles.store import open_store
settings = Settings()
store = open_store(settings.effective_database_url())
actor = store.users.actor("writer")
profiles = [p.name for p in store.profiles.list(actor)]
examples = open_example_store(settings, MiniLMEmbedder())
ids = examples.collection.get(include=[])["ids"]
hits = examples.search("who do you treat first", k=3) if ids else []
print(json.dumps({"profiles": profiles, "examples": ids, "search_ok": bool(hits)}))
"""
    out = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr
    import json

    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert acked["profile"] <= set(state["profiles"])
    assert acked["example"] <= set(state["examples"])
    assert state["search_ok"]
