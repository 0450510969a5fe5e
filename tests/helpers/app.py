"""An AppService on a real SQLite store (seeded attribute packs) and a scripted fake backbone.

Tests call its typed parts as the UI does (``app.decisions.chat(actor, app.parse(ChatRequest, {...}))``:
the payload measured and parsed at the edge, the part called) and read the answer as an API caller gets
it with ``as_json``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alignment.backbone import GenerationRequest
from alignment.fake import FakeBackbone
from assistant.app import AppService
from assistant.backbones import BackbonePool
from assistant.decisions.service import DecisionService
from assistant.settings import Settings
from profiles.schemas import UserCreate
from profiles.seed import seed
from profiles.store import open_store


def persona_reply(request: GenerationRequest, count: int) -> dict[str, Any]:
    """Picks B when the prompt values fairness strongly, else A (a visible, checkable rule)."""
    found = re.search(r"fairness: (\d\.\d+) on a 0 to 1 scale", request.messages[0].content)
    strongly_fair = found is not None and float(found.group(1)) >= 0.7
    return {
        "reasoning": "fair to both" if strongly_fair else "the first one",
        "choice": "B" if strongly_fair else "A",
    }


def as_json(reply: BaseModel) -> dict[str, Any]:
    """A part's answer as an API caller gets it: the edge's ``model_dump(mode="json")``
    (``ui.api.call_endpoint``)."""
    return dict(reply.model_dump(mode="json"))


def make_app(tmp_path: Path, *, local_mode: bool = False, datasets_dir: Path | None = None) -> AppService:
    # the chat logic is tested on persona over a scripted backbone (value-fit, the default decider,
    # needs the embedding model: tests/integration/test_value_fit_model.py and the app tests)
    settings = Settings(data_dir=tmp_path, default_decider="persona-greedy")
    pool = BackbonePool(settings)
    pool.add(FakeBackbone(persona_reply, name="embedded"))
    store = open_store(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    admin = store.users.add(None, UserCreate(name="root", password="root-password", role="admin"))
    root = store.users.actor(admin.name)
    seed(store.attributes, root)
    store.users.add(root, UserCreate(name="alice", password="alice-password"))
    store.users.add(root, UserCreate(name="bob", password="bob-password"))
    return AppService(
        store,
        DecisionService(settings, pool),
        work_dir=tmp_path / "work",
        datasets_dir=datasets_dir,
        local_mode=local_mode,
        eval_limit_cap=3,
    )
