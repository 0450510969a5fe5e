"""An AppService on a real SQLite store (seeded attribute packs) and a scripted fake backbone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alignment.backbone import GenerationRequest
from alignment.fake import FakeBackbone
from assistant.app import AppService
from assistant.app.schemas import ChatRequest
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


class JsonApp:
    """The facade as the API reaches it: ``app.decide(actor, {...})`` goes through ``ui.api.call_endpoint``
    (the payload measured and parsed, the part called, the answer serialised), exactly as a
    ``gradio_client`` call does. Everything else is the ``AppService`` itself."""

    def __init__(self, app: AppService) -> None:
        object.__setattr__(self, "app", app)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.app, name, value)

    def __getattr__(self, name: str) -> Any:
        from ui.api import ENDPOINTS, call_endpoint

        if name in ENDPOINTS:
            return lambda actor, payload=None, **kw: call_endpoint(self.app, name, actor, payload, **kw)
        return getattr(self.app, name)

    def chat_stream(self, actor: Any, payload: Any) -> Any:
        return self.app.decisions.chat_stream(actor, self.app.parse(ChatRequest, payload, actor=actor))

    def suggest_attributes(self, scenario: str, options: list[str]) -> Any:
        return self.app.decisions.suggest_attributes(scenario, options)

    @property
    def chat_engine(self) -> Any:
        return self.app.decisions.chat_engine

    def dataset_files(self) -> list[str]:
        return self.app.evaluation.dataset_files()


def make_app(tmp_path: Path, *, local_mode: bool = False, datasets_dir: Path | None = None) -> Any:
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
    return JsonApp(
        AppService(
            store,
            DecisionService(settings, pool),
            work_dir=tmp_path / "work",
            datasets_dir=datasets_dir,
            local_mode=local_mode,
            eval_limit_cap=3,
        )
    )
