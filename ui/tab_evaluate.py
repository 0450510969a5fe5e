"""Evaluate tab: a small evaluation from the browser, with progress, the table, the chart, the zip."""

from pathlib import Path
from typing import Any

import gradio as gr

from alignment.errors import InputError
from assistant.app import AppService
from ui.common import acting, guarded

__all__ = ["build_evaluate_tab"]


def build_evaluate_tab(app: AppService, options: dict[str, Any]) -> None:
    gr.Markdown(
        f"Runs the chosen algorithms (with the `unaligned` and `random` baselines) on the first records of "
        f"each file; at most {app.eval_limit_cap} records per file here (`align eval` has no cap)."
    )
    files = gr.CheckboxGroup(app.dataset_files(), label="Dataset files", elem_id="eval-files")
    upload = gr.File(label="or upload an ALIGN input_output JSON file", file_types=[".json"])
    with gr.Row():
        algorithms = gr.CheckboxGroup(options["algorithms"], value=["persona"], label="Algorithms")
        backbone = gr.Dropdown(options["backbones"], value=options["default_backbone"], label="Backbone")
        limit = gr.Number(
            value=2, precision=0, minimum=1, maximum=app.eval_limit_cap, label="Records per file"
        )
    run = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
    summary = gr.Markdown(elem_id="eval-summary")
    chart = gr.Image(label="Alignment accuracy", type="filepath")
    download = gr.File(label="Results (zip)")

    @guarded
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
        chosen = list(names or [])
        if path:
            chosen.append(str(app.save_upload(actor, Path(path))))
        if not chosen:
            raise InputError("pick at least one dataset file (or upload one)")
        progress(0, desc="loading")
        result = app.evaluate(
            actor,
            {"files": chosen, "algorithms": algos or ["persona"], "backbone": back, "limit": int(n or 1)},
            progress=True,
        )
        return [result["summary_md"], result["chart"], result["zip"]]

    run.click(
        run_eval,
        [files, upload, algorithms, backbone, limit],
        [summary, chart, download],
        api_visibility="private",
    )
