"""The app's example decisions (admins only): search, read, add, delete, import a dataset file."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from alignment.datasets import load_file
from alignment.errors import InputError
from alignment.example_admin import ExampleAdmin
from alignment.models import Example, Scenario
from assistant.app.admin import require_admin
from assistant.app.replies import ExampleImport, ExamplesDeleted, ExamplesReply, FoundExample
from assistant.app.schemas import AddExampleRequest, ExampleIdRequest, ExampleSearchRequest
from assistant.decisions.messages import validation_message
from profiles.schemas import Actor

__all__ = ["AppExamples", "Progress"]

Progress = Callable[[int, int, str], None]  # (done, total, what)


class AppExamples:
    """Handed how to reach the example store (None: no store is configured)."""

    def __init__(self, examples: Callable[[], ExampleAdmin | None]) -> None:
        self._examples = examples

    @staticmethod
    def check_allowed(actor: Actor) -> None:
        """``PermissionDenied`` unless the actor is an admin (before an upload is even read)."""
        require_admin(actor, "manage example decisions")

    def _store(self, actor: Actor) -> ExampleAdmin:
        require_admin(actor, "manage example decisions")
        store = self._examples()
        if store is None:
            raise InputError("no example store is configured")
        return store

    def search(self, actor: Actor, req: ExampleSearchRequest) -> ExamplesReply:
        store = self._store(actor)
        if req.query.strip():
            hits = store.search(
                req.query, k=req.k, domain=req.domain, attributes=[req.attribute] if req.attribute else None
            )
            rows = [FoundExample(**h.example.model_dump(), similarity=h.similarity) for h in hits]
        else:
            listed = store.list_examples(domain=req.domain, attribute=req.attribute, limit=req.k)
            rows = [FoundExample(**e.model_dump()) for e in listed]
        return ExamplesReply(examples=rows, total=store.count())

    def get(self, actor: Actor, req: ExampleIdRequest) -> Example:
        return self._store(actor).get(req.id)

    def add(self, actor: Actor, req: AddExampleRequest) -> Example:
        store = self._store(actor)
        try:
            scenario = Scenario(text=req.text, choices=req.choices)
        except ValidationError as exc:  # one sentence, never pydantic's report with its link
            raise InputError(validation_message(exc)) from None
        if req.scores and len(req.scores) != len(req.choices):
            raise InputError(f"give one scores object per choice ({len(req.choices)}), or none")
        if req.chosen is not None and not 0 <= req.chosen < len(req.choices):
            raise InputError(f"chosen must be the index of a choice, 0..{len(req.choices) - 1}")
        example = Example(
            id=req.id or f"manual:{uuid.uuid4().hex[:12]}",
            text=scenario.text,
            choices=scenario.choices,
            scores=req.scores,
            chosen=req.chosen,
            domain=req.domain,
            source="manual",
            scenario_id=req.id,
        )
        report = store.add_examples([example])
        if not report.added:
            raise InputError(f"an example with id {example.id!r} already exists; choose another id")
        return example

    def delete(self, actor: Actor, req: ExampleIdRequest) -> ExamplesDeleted:
        return ExamplesDeleted(deleted=self._store(actor).delete([req.id]))

    def import_file(
        self, actor: Actor, path: Path, *, domain: str | None = None, progress: Progress | None = None
    ) -> ExampleImport:
        """Import one ALIGN input_output file (checked first, then added with progress)."""
        store = self._store(actor)
        records = load_file(path, domain=domain)
        total = len(records)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total, "examples")

        report = store.add_records(records, progress=step)
        return ExampleImport(
            file=path.name,
            records=total,
            added=len(report.added),
            present=len(report.present),
            total=store.count(),
        )
