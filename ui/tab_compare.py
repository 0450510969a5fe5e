"""Compare tab: one scenario, 2..6 (backbone, algorithm, profile) columns run concurrently."""

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from alignment.errors import InputError
from assistant.app import AppService
from assistant.app.replies import OptionsReply
from assistant.app.schemas import MAX_COLUMNS, CompareAppRequest
from ui.common import acting, shown_once
from ui.files import json_download
from ui.render import comparison_html, parse_assignments

__all__ = ["CompareTab", "build_compare_tab"]

NO_PROFILE = "(no profile)"


@dataclass
class CompareTab:
    load_outputs: list[Any] = field(default_factory=list)

    def on_load(self, profiles: list[str]) -> list[Any]:
        return [gr.update(choices=[NO_PROFILE, *profiles]) for _ in self.load_outputs]

    @staticmethod
    def pickers(profiles: list[str], current: list[str | None]) -> list[Any]:
        """Each column's profile picker with these profiles, its pick kept while it still exists."""
        return [
            gr.update(choices=[NO_PROFILE, *profiles], value=c if c in profiles else NO_PROFILE)
            for c in current
        ]


def _targets(text: str, column: int) -> dict[str, float]:
    """A column's "name=value, ..." as numbers, or an InputError that says which one and how."""
    try:
        pairs = parse_assignments(text)
    except ValueError as exc:
        raise InputError(f"column {column} values: {exc}, for example fairness=0.8") from None
    values = {}
    for name, value in pairs.items():
        try:
            values[name] = float(value)
        except ValueError:
            raise InputError(
                f"column {column} values: {value!r} is not a number; give {name} a number from 0 to 1, "
                f"for example {name}=0.8"
            ) from None
    return values


def build_compare_tab(app: AppService, options: OptionsReply) -> CompareTab:
    scenario = gr.Textbox(label="Scenario", lines=3, elem_id="compare-scenario")
    choices = gr.Textbox(label="Choices (one per line)", lines=3, elem_id="compare-choices")
    count = gr.Slider(2, MAX_COLUMNS, value=2, step=1, label="Columns", elem_id="compare-count")
    rows = []
    columns: list[tuple[Any, Any, Any, Any]] = []
    for i in range(MAX_COLUMNS):
        with gr.Row(visible=i < 2) as row:
            algo = gr.Dropdown(
                options.algorithms,
                value=options.default_algorithm if i else "unaligned",
                label=f"{i + 1}. algorithm",
                elem_id=f"compare-algorithm-{i + 1}",
            )
            back = gr.Dropdown(options.backbones, value=options.default_backbone, label="backbone")
            prof = gr.Dropdown(
                [NO_PROFILE], value=NO_PROFILE, label="profile", elem_id=f"compare-profile-{i + 1}"
            )
            targets = gr.Textbox(
                label="or targets (name=value, ...)",
                placeholder="fairness=0.8",
                elem_id=f"compare-targets-{i + 1}",
            )
        rows.append(row)
        columns.append((algo, back, prof, targets))
    seed = gr.Number(value=0, precision=0, label="Seed")
    run = gr.Button("Compare", variant="primary", elem_id="compare-run")
    result_html = gr.HTML(elem_id="compare-result")
    export = gr.File(label="Comparison as JSON", elem_id="compare-export")

    count.change(
        lambda n: [gr.update(visible=i < int(n)) for i in range(MAX_COLUMNS)],
        count,
        rows,
        api_visibility="private",
    )

    @shown_once(2, status=0)
    def run_compare(data: dict, request: gr.Request) -> Any:
        actor = acting(app, request)
        cols: list[dict[str, Any]] = []
        for algo, back, prof, targets in columns[: int(data[count])]:
            values = _targets(data[targets] or "", len(cols) + 1)
            picked = data[prof] if data[prof] and data[prof] != NO_PROFILE else None
            cols.append(  # as sent (and exported): a profile or targets only when given
                {
                    "algorithm": data[algo],
                    "backbone": data[back],
                    **({"profile": picked} if picked else {}),
                    **({"targets": values} if values else {}),
                }
            )
        payload = {
            "scenario": data[scenario],
            "choices": [c.strip() for c in (data[choices] or "").splitlines() if c.strip()],
            "columns": cols,
            "seed": int(data[seed]) if data[seed] is not None else None,
        }
        reply = app.decisions.compare(actor, app.parse(CompareAppRequest, payload, actor=actor))
        result = reply.model_dump(mode="json")
        export = json_download(app, actor, {"request": payload, "result": result}, "comparison.json")
        return comparison_html(reply), export

    inputs = {scenario, choices, count, seed, *(c for col in columns for c in col)}
    run.click(run_compare, inputs, [result_html, export], api_visibility="private")
    return CompareTab(load_outputs=[c[2] for c in columns])
