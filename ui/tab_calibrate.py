"""Calibrate tab: answer K dilemmas (each the most informative next one), see the estimated values
with their uncertainty, saved as your profile. The answers so far live in the browser session
(``gr.State``); the facade is stateless and replays them on each call."""

from collections.abc import Callable
from typing import Any, TypedDict

import gradio as gr

from assistant.app import AppService
from assistant.app.calibration import CalibrationStep, EstimatePublic
from assistant.app.schemas import CalibrateRequest
from ui.common import acting, shown_once, whole_number

__all__ = ["build_calibrate_tab", "estimate_markdown"]

MAX_DILEMMAS = 100  # as CalibrateRequest.count allows


class AnswerSent(TypedDict):
    """One answer as the browser session keeps it and sends it (a ``CalibrationAnswer`` once parsed)."""

    dilemma_id: str
    choice: int | None


def estimate_markdown(estimate: EstimatePublic, title: str) -> str:
    rows = estimate.attributes
    if not rows:
        return f"**{title}**\n\n_No answer has touched any attribute yet._"
    lines = [
        f"**{title}** (from {estimate.answers} answers)",
        "",
        "| attribute | value | 90% interval | sd | direction |",
        "|---|---|---|---|---|",
    ]
    for name, e in rows.items():
        lines.append(
            f"| {name} | {e.value:.2f} | [{e.low:.2f}, {e.high:.2f}] | {e.sd:.2f} | "
            f"{e.direction} ({e.confidence:.0%}) |"
        )
    return "\n".join(lines)


def _letter(i: int) -> str:
    return chr(ord("A") + i)


def build_calibrate_tab(app: AppService) -> None:
    gr.Markdown(
        "Answer a few dilemmas with what **you** would do. Each next one is chosen to tell the most "
        "about your values; at the end the estimate is saved as your profile."
    )
    with gr.Row():
        count = gr.Number(value=10, precision=0, label="Dilemmas (K)", scale=1)
        name = gr.Textbox(value="calibrated", label="Save as profile", elem_id="calibrate-name", scale=2)
        domain = gr.Radio(
            [("Everyday life", "everyday"), ("Medical triage", "triage")],
            value="everyday",
            label="Dilemmas about",
            elem_id="calibrate-domain",
            scale=2,
        )
        start = gr.Button("Start", variant="primary", elem_id="calibrate-start", scale=0)
    progress = gr.Markdown("", elem_id="calibrate-progress")
    dilemma = gr.Markdown("", elem_id="calibrate-dilemma")
    choice = gr.Radio([], label="Your choice", elem_id="calibrate-choice", visible=False)
    with gr.Row():
        answer = gr.Button("Answer", variant="primary", elem_id="calibrate-answer", visible=False, scale=0)
        skip = gr.Button("Skip", elem_id="calibrate-skip", visible=False, scale=0)
    result = gr.Markdown("", elem_id="calibrate-result")
    answers = gr.State([])
    current = gr.State(None)

    def show(state: CalibrationStep, got: list[AnswerSent], saved: str = "") -> tuple[Any, ...]:
        d = state.dilemma
        done = d is None
        head = f"Answered {state.answered} of {state.count}."
        text = "" if d is None else f"### Dilemma {state.answered + 1}\n\n{d.text}"
        options = [] if d is None else [(f"({_letter(i)}) {c}", i) for i, c in enumerate(d.choices)]
        title = "Your estimated values" if done else "Estimate so far"
        return (
            got,
            None if d is None else d.id,
            head,
            text,
            gr.update(choices=options, value=None, visible=not done),
            gr.update(visible=not done),
            gr.update(visible=not done),
            estimate_markdown(state.estimate, title) + saved,
        )

    outputs = [answers, current, progress, dilemma, choice, answer, skip, result]

    def dilemmas(k: float | None) -> int:
        return whole_number(k, 1, MAX_DILEMMAS, "the number of dilemmas", 10)

    def finish(
        request: gr.Request, got: list[AnswerSent], k: int, profile: str, area: str | None
    ) -> tuple[Any, ...]:
        actor = acting(app, request)
        asked = {"answers": got, "count": k, "domain": area or "everyday"}
        state = app.calibration.next(actor, app.parse(CalibrateRequest, asked, actor=actor))
        saved = ""
        if state.done and state.answered:
            save = app.parse(CalibrateRequest, {**asked, "name": profile}, actor=actor)
            p = app.calibration.save(actor, save).profile
            saved = f"\n\nSaved as your profile **{p.name}** (version {p.version})."
        return show(state, got, saved)

    @shown_once(len(outputs), status=outputs.index(progress))
    def on_start(k: float | None, area: str | None, request: gr.Request) -> tuple[Any, ...]:
        return finish(request, [], dilemmas(k), "calibrated", area)

    def on_step(skip: bool) -> Callable[..., tuple[Any, ...]]:
        """The handler of Answer (the picked choice) or, ``skip``, of Skip (no choice)."""

        @shown_once(len(outputs), status=outputs.index(progress))
        def step(
            picked: int | None,
            got: list[AnswerSent],
            cur: str | None,
            k: float | None,
            profile: str,
            area: str | None,
            request: gr.Request,
        ) -> tuple[Any, ...]:
            if cur is None:
                raise gr.Error("Press Start first.", print_exception=False)
            if picked is None and not skip:
                raise gr.Error("Pick a choice (or Skip).", print_exception=False)
            sent: AnswerSent = {"dilemma_id": cur, "choice": None if skip or picked is None else int(picked)}
            return finish(request, [*got, sent], dilemmas(k), profile, area)

        step.__name__ = "on_skip" if skip else "on_answer"  # the handlers' names in the page's config
        return step

    start.click(on_start, [count, domain], outputs, api_visibility="private")
    step_inputs = [choice, answers, current, count, name, domain]
    answer.click(on_step(skip=False), step_inputs, outputs, api_visibility="private")
    skip.click(on_step(skip=True), step_inputs, outputs, api_visibility="private")
