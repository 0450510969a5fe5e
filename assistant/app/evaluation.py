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
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alignment.algorithms.registry import algorithm_names
from alignment.errors import InputError
from assistant.app.handout import Handout
from assistant.app.schemas import EvaluateRequest
from assistant.decisions.service import DecisionService
from profiles.schemas import Actor

__all__ = ["AppEvaluation", "EvaluationReply"]

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
    ) -> None:
        self.service = service
        self.runs_dir = runs_dir
        self.datasets_dir = datasets_dir
        self.limit_cap = limit_cap
        self.handout = handout

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
    ) -> EvaluationReply:
        """Evaluate (at most ``limit_cap`` records per file) into a fresh run folder of the actor's."""
        from alignment.evaluation import summary_markdown
        from assistant.evaluation.runner import EvalConfig, run_evaluation

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
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = self.runs_dir / actor.name / run_id
        archive = out.with_suffix(".zip")
        config = EvalConfig(data=list(named), algorithms=algorithms, backbone=backbone, limit=limit, out=out)
        try:
            summary = _without_paths(run_evaluation(self.service, config, progress=progress), named, run_id)
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
        self, actor: Actor, req: EvaluateRequest, *, uploads: Sequence[Path] = (), progress: bool = False
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
