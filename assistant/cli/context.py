"""The composition root of one ``align`` command: the settings are built once (``align serve``'s with
the serving defaults, ``load_serving_settings``), the store, the decision service and its example
store are opened on first use, and everything opened is closed when the command ends (``main`` runs
every command inside ``with Cli(load) as cli``, ``load`` the command's own settings loader)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from assistant.settings import Settings, load_settings

if TYPE_CHECKING:
    from assistant.decisions.service import DecisionService
    from assistant.stores.examples import ExampleStore
    from profiles.store import Store

__all__ = ["Cli"]


class Cli:
    """Handed to every command handler as ``handler(args, cli)``."""

    def __init__(self, load: Callable[[], Settings] = load_settings) -> None:
        self._load = load
        self._closers: list[Callable[[], None]] = []

    @cached_property
    def settings(self) -> Settings:
        return self._load()

    @cached_property
    def store(self) -> Store:
        """The profile store, migrated to head and seeded on first use (``open_cli_store``)."""
        from assistant.cli.operator import open_cli_store

        store = open_cli_store(self.settings)
        self._closers.append(store.close)
        return store

    @cached_property
    def service(self) -> DecisionService:
        """The decision service (backbones load on first use, and close at the end)."""
        from assistant.compose import build_service

        service = build_service(self.settings)
        self._closers.append(service.backbones.close)
        return service

    @cached_property
    def examples(self) -> ExampleStore:
        """The example store the settings describe (embedded Chroma, or the Chroma server), opened:
        the one the decision service retrieves from, so a command holds one Chroma client and one
        MiniLM model (``build_service``)."""
        from assistant.compose import opened_examples

        return opened_examples(self.service)

    def close(self) -> None:
        """Close what was opened, last first."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Cli:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
