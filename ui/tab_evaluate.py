"""Evaluate tab: a small evaluation from the browser, with progress, the table, the chart, the zip."""

import contextlib
from pathlib import Path
from typing import Any

import gradio as gr

from alignment.errors import InputError
from assistant.app import AppService
from assistant.app.replies import OptionsReply
from assistant.app.schemas import EvaluateRequest
from ui.caller import caller_gone
from ui.common import acting, shown_once, whole_number
from ui.files import local_path

__all__ = ["build_evaluate_tab"]


def build_evaluate_tab(app: AppService, options: OptionsReply) -> gr.CheckboxGroup:
    """The tab; returns its dataset files box, whose names the page's load fills in for admins."""
    gr.Markdown(
        f"Runs the chosen algorithms (with the `unaligned` and `random` baselines) on the first records of "
        f"each file; at most {app.evaluation.limit_cap} records per file and "
        f"{app.evaluation.max_decisions} decisions in all here (`align eval` has no cap). For admins; "
        "one evaluation at a time, and people's own decisions go first."
    )
    files = gr.CheckboxGroup([], label="Dataset files", elem_id="eval-files")
    upload = gr.File(label="or upload an ALIGN input_output JSON file", file_types=[".json"])
    with gr.Row():
        algorithms = gr.CheckboxGroup(options.algorithms, value=["persona"], label="Algorithms")
        backbone = gr.Dropdown(options.backbones, value=options.default_backbone, label="Backbone")
        limit = gr.Number(value=2, precision=0, label="Records per file")
    run = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
    summary = gr.Markdown(elem_id="eval-summary")
    chart = gr.Image(label="Alignment accuracy", type="filepath")
    download = gr.File(label="Results (zip)")

    @shown_once(3, status=0)
    def run_eval(
        names: list[str],
        path: str | None,
        algos: list[str],
        back: str,
        n: float | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> list[Any]:
        actor = acting(app, request)
        app.evaluation.check_allowed(actor)  # admins only: refused before the upload is even read
        if not names and not path:
            raise InputError("pick at least one dataset file (or upload one)")
        progress(0, desc="loading")
        payload = {
            "files": list(names or []),
            "algorithms": algos or ["persona"],
            "backbone": back,
            "limit": whole_number(n, 1, app.evaluation.limit_cap, "the records per file", 2),
        }
        with contextlib.ExitStack() as stack:
            uploads = [stack.enter_context(app.upload(actor, Path(path)))] if path else []
            req = app.parse(EvaluateRequest, payload, actor=actor)
            result = app.evaluation.evaluate(
                actor, req, uploads=uploads, progress=True, cancelled=caller_gone()
            )
        return [result.summary_md, local_path(app, result.chart), local_path(app, result.zip)]

    run.click(
        run_eval,
        [files, upload, algorithms, backbone, limit],
        [summary, chart, download],
        api_visibility="private",
    )
    return files
