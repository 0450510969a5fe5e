"""The app's small evaluations: dataset files confined to the datasets folder, a private run folder
per request, and the results handed to the caller only.

- A file a request names is resolved (``..`` and symlinks too) and must lie inside the datasets
  folder. A missing file and one outside get the same answer, so a caller learns nothing about
  other paths, and nothing outside is ever read.
- Uploads come from the UI handler (``Uploads.received``), never as a path in a request.
- The run folder (``<data>/app/evaluations/<user>/<run>``) is never served: the chart and the zip
  are handed out (``Handout``) to the caller, and a failed run's folder is removed.
- Replies and ``summary.json`` name files by their dataset name and the run by its id, never by a
  path on the server.

What an evaluation may cost the server (the one model is shared by everyone):

- only an admin runs one; every other user is refused before anything is read or run;
- at most ``limit_cap`` records per file and ``max_decisions`` decisions in all (records, their
  targets, every algorithm and baseline), counted before the first one runs;
- at most ``max_running`` evaluations at once on the whole server; a further one is refused at
  once ("an evaluation is already running"), never queued;
- people's decisions come first: before each item the run waits while any person's decision is in
  flight (``PeopleFirst``), so a person waits for at most the one item already running;
- a run stops at its next item once its caller went away (``cancelled()``), and its folder is removed.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alignment.algorithms.registry import algorithm_names
from alignment.errors import AlignError, Conflict, InputError
from assistant.app.admin import require_admin
from assistant.app.handout import Handout
from assistant.app.schemas import EvaluateRequest
from assistant.decisions.service import DecisionService
from profiles.schemas import Actor

__all__ = ["BUSY", "STOPPED", "AppEvaluation", "EvaluationReply", "EvaluationStopped"]

BUSY = (
    "an evaluation is already running on this server (one at a time, so that people's decisions "
    "stay fast); wait until it has finished, then start yours again"
)
STOPPED = "the evaluation was stopped: its caller went away before it finished"


class EvaluationStopped(AlignError):
    """A run stopped at its next item because its caller went away."""


_SHOWN_CHARS = 120  # a file name quoted back in an error is cut to this


class AppEvaluation:
    def __init__(
        self,
        service: DecisionService,
        *,
        runs_dir: Path,
        datasets_dir: Path | None,
        limit_cap: int,
        handout: Handout,
        max_decisions: int = 200,
        max_running: int = 1,
    ) -> None:
        self.service = service
        self.runs_dir = runs_dir
        self.datasets_dir = datasets_dir
        self.limit_cap = limit_cap
        self.handout = handout
        self.max_decisions = max_decisions
        self.max_running = max_running
        self._running = threading.BoundedSemaphore(max_running)

    @staticmethod
    def check_allowed(actor: Actor) -> None:
        """Only an admin runs evaluations (they take the shared model for minutes or hours)."""
        require_admin(actor, "run evaluations (they hold the shared model for a long time)")

    def dataset_files(self) -> list[str]:
        """Dataset files offered by the Evaluate tab (relative to the datasets directory)."""
        if self.datasets_dir is None or not self.datasets_dir.is_dir():
            return []
        root = self.datasets_dir.resolve()
        names = (p.relative_to(self.datasets_dir).as_posix() for p in self.datasets_dir.rglob("*.json"))
        return sorted(name for name in names if _inside(root, name))

    def dataset_path(self, name: str) -> Path:
        """The dataset file ``name`` (relative to the datasets folder), resolved; it must stay inside."""
        if self.datasets_dir is None:
            raise InputError(
                "no datasets directory is configured on this server; ask its operator to give one "
                "when starting it, or upload a file"
            )
        shown = name if len(name) <= _SHOWN_CHARS else name[: _SHOWN_CHARS - 3] + "..."
        missing = InputError(f"no dataset file {shown!r}; pick one of the files listed in the Evaluate tab")
        root = self.datasets_dir.resolve()
        if not name.strip() or Path(name).is_absolute():
            raise missing
        try:
            resolved = (root / name).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
            raise missing from None
        if not resolved.is_relative_to(root) or resolved.suffix != ".json" or not resolved.is_file():
            raise missing
        return resolved

    def run(
        self,
        actor: Actor,
        *,
        files: Sequence[str],
        uploads: Sequence[Path],
        algorithms: list[str],
        backbone: str | None,
        limit: int,
        progress: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> EvaluationReply:
        """Evaluate (at most ``limit_cap`` records per file, ``max_decisions`` in all) into a fresh
        run folder of the actor's; an admin only, ``max_running`` at once. ``cancelled()``: whether
        the caller went away (checked before each item)."""
        self.check_allowed(actor)
        if limit > self.limit_cap:
            raise InputError(
                f"limit {limit} is above this server's cap of {self.limit_cap} records per file; "
                "use `align eval` for larger runs"
            )
        known = set(algorithm_names())
        for name in algorithms:
            if name not in known:
                raise InputError(f"unknown algorithm {name!r}; known: {', '.join(sorted(known))}")
        named = {self.dataset_path(f): f for f in files}
        named.update({path: path.name for path in uploads})
        if not named:
            raise InputError("pick at least one dataset file (or upload one)")
        if not self._running.acquire(blocking=False):
            raise Conflict(BUSY)
        try:
            return self._run(actor, named, algorithms, backbone, limit, progress, cancelled)
        finally:
            self._running.release()

    def _run(
        self,
        actor: Actor,
        named: dict[Path, str],
        algorithms: list[str],
        backbone: str | None,
        limit: int,
        progress: bool,
        cancelled: Callable[[], bool] | None,
    ) -> EvaluationReply:
        from alignment.evaluation import summary_markdown
        from assistant.evaluation.runner import EvalConfig, run_evaluation

        people = self.service.people

        def check() -> None:
            if cancelled is not None and cancelled():
                raise EvaluationStopped(STOPPED)

        def before_item() -> None:  # people first; stop once the caller went away
            people.wait_turn(check)

        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = self.runs_dir / actor.name / run_id
        archive = out.with_suffix(".zip")
        config = EvalConfig(data=list(named), algorithms=algorithms, backbone=backbone, limit=limit, out=out)
        try:
            with people.background():  # its decisions are not people's: they wait for those
                summary = run_evaluation(
                    self.service,
                    config,
                    progress=progress,
                    max_items=self.max_decisions,
                    before_item=before_item,
                )
            summary = _without_paths(summary, named, run_id)
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
            (out / "summary.md").write_text(summary_markdown(summary))
            shutil.make_archive(str(out), "zip", root_dir=out)
            chart = self.handout.give(actor.name, out / "accuracy.png")
            results = self.handout.give(actor.name, archive, f"evaluation-{run_id}.zip")
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            archive.unlink(missing_ok=True)
            raise
        return EvaluationReply(
            summary_md=summary_markdown(summary), chart=chart, zip=results, run=run_id, summary=summary
        )

    def evaluate(
        self,
        actor: Actor,
        req: EvaluateRequest,
        *,
        uploads: Sequence[Path] = (),
        progress: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> EvaluationReply:
        """A small evaluation of dataset files (and the request's upload): summary, chart and zip links."""
        return self.run(
            actor,
            files=req.files,
            uploads=uploads,
            algorithms=req.algorithms,
            backbone=req.backbone,
            limit=req.limit,
            progress=progress,
            cancelled=cancelled,
        )


class EvaluationReply(BaseModel):
    """The run's summary (Markdown and JSON, no server path), its id, and links to its chart and zip."""

    summary_md: str
    chart: str
    zip: str
    run: str
    summary: dict[str, Any]


def _inside(root: Path, name: str) -> bool:
    try:
        resolved = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_relative_to(root) and resolved.is_file()


def _without_paths(summary: dict[str, Any], named: dict[Path, str], run_id: str) -> dict[str, Any]:
    """The summary with its file names as the request gave them and the run by its id."""
    names = list(named.values())
    config = {**summary.get("config", {}), "data": names, "out": run_id}
    return {**summary, "files": names, "config": config}
