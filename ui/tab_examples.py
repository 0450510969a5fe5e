"""Examples tab (admins): search, view, add and delete example decisions; import a dataset file."""

import json
from pathlib import Path
from typing import Any

import gradio as gr

from alignment.errors import InputError
from assistant.app import AppService
from assistant.app.schemas import AddExampleRequest, ExampleIdRequest, ExampleSearchRequest
from ui.common import acting, json_text, shown_once, whole_number

__all__ = ["build_examples_tab"]


def build_examples_tab(app: AppService) -> gr.Dropdown:
    """The tab; returns its dataset picker, whose file names the page's load fills in for admins."""
    gr.Markdown("Example decisions used by the `icl` and `regression` algorithms (admins only).")
    with gr.Row():
        query = gr.Textbox(label="Search text (empty: list)", scale=3)
        domain = gr.Textbox(label="Domain", placeholder="triage")
        attribute = gr.Textbox(label="Attribute", placeholder="fairness")
        k = gr.Number(value=10, precision=0, label="How many")
    search = gr.Button("Search", variant="primary")
    table = gr.Dataframe(headers=["id", "domain", "similarity", "text"], interactive=False, wrap=True)
    with gr.Row():
        example_id = gr.Textbox(label="Example id")
        view = gr.Button("View")
        delete = gr.Button("Delete", variant="stop")
    shown = gr.JSON(label="Example")
    gr.Markdown("### Add an example")
    new_example = gr.Code(
        value=json.dumps(
            {
                "text": "A scenario...",
                "choices": ["first", "second"],
                "scores": [{"fairness": 0.9}, {"fairness": 0.1}],
                "chosen": 0,
                "domain": "triage",
            },
            indent=2,
        ),
        language="json",
        label="Example (JSON)",
    )
    add = gr.Button("Add example")
    gr.Markdown("### Import a dataset file (ALIGN input_output JSON)")
    with gr.Row():
        dataset = gr.Dropdown([], label="From the datasets directory", scale=3)
        upload = gr.File(label="or upload a file", file_types=[".json"])
    do_import = gr.Button("Import")
    status = gr.Markdown()

    @shown_once(1)
    def run_search(q: str, dom: str, attr: str, n: float | None, request: gr.Request) -> list[list[Any]]:
        actor = acting(app, request)
        k = whole_number(n, 1, 50, "the number of examples to show", 10)
        search = {"query": q or "", "domain": dom or None, "attribute": attr or None, "k": k}
        result = app.examples.search(actor, app.parse(ExampleSearchRequest, search, actor=actor))
        return [
            [e.id, e.domain, "" if e.similarity is None else round(e.similarity, 4), e.text[:200]]
            for e in result.examples
        ]

    search.click(run_search, [query, domain, attribute, k], [table], api_visibility="private")

    @shown_once(1)
    def run_view(eid: str, request: gr.Request) -> dict[str, Any]:
        actor = acting(app, request)
        if not (eid or "").strip():
            raise InputError("type an example's id first (the search lists them)")
        example = app.examples.get(actor, app.parse(ExampleIdRequest, {"id": eid.strip()}, actor=actor))
        return dict(example.model_dump(mode="json"))

    view.click(run_view, [example_id], [shown], api_visibility="private")

    @shown_once(1, status=0)
    def run_delete(eid: str, request: gr.Request) -> str:
        actor = acting(app, request)
        if not (eid or "").strip():
            raise InputError("type an example's id first (the search lists them)")
        result = app.examples.delete(actor, app.parse(ExampleIdRequest, {"id": eid.strip()}, actor=actor))
        return f"Deleted {', '.join(result.deleted)}."

    delete.click(run_delete, [example_id], [status], api_visibility="private")

    @shown_once(1, status=0)
    def run_add(text: str, request: gr.Request) -> str:
        data = json_text(text, "the example")
        actor = acting(app, request)
        example = app.examples.add(actor, app.parse(AddExampleRequest, data, actor=actor))
        return f"Added example `{example.id}`."

    add.click(run_add, [new_example], [status], api_visibility="private")

    @shown_once(1, status=0)
    def run_import(
        name: str | None,
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> str:
        actor = acting(app, request)
        app.examples.check_allowed(actor)  # admins only: refused before the upload is even read
        if not path and not name:
            raise InputError("pick a dataset file or upload one")

        def step(done: int, total: int, what: str) -> None:
            progress((done, total), desc=f"embedding {what}")

        progress(0, desc="checking the file")
        if path:
            with app.upload(actor, Path(path)) as file:
                report = app.examples.import_file(actor, file, progress=step)
        else:
            report = app.examples.import_file(actor, app.evaluation.dataset_path(name or ""), progress=step)
        return (
            f"{report.file}: {report.records} records, {report.added} added, "
            f"{report.present} already present. The store holds {report.total}."
        )

    do_import.click(run_import, [dataset, upload], [status], api_visibility="private")
    return dataset
