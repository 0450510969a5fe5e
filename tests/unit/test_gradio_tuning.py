"""assistant.web.gradio_tuning: the lean session state equals Gradio's, built only when read; the queue's
monitoring summary is rebuilt every ANALYTICS_EVERY events over the last ANALYTICS_EVENTS."""

from __future__ import annotations

import gradio as gr
import pytest
from gradio.state_holder import SessionState, StateHolder

from assistant.web.gradio_tuning import (
    ANALYTICS_EVENTS,
    ANALYTICS_EVERY,
    POLL_S,
    PROGRESS_S,
    LeanSessionState,
    LeanStateHolder,
    tune_queue,
)


def _demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        box = gr.Textbox(value="hello", label="a")
        number = gr.Number(value=3)
        state = gr.State(value={"n": 1})
        gr.Button("go").click(lambda s, n: (s, n), [box, number], [box, number])
        del state
    return demo


def test_lean_session_state_builds_the_config_copy_only_when_read() -> None:
    demo = _demo()
    lean = LeanSessionState(demo)
    assert "config_values" not in vars(lean)  # nothing copied up front
    assert lean.config_values == SessionState(demo).config_values
    assert "config_values" in vars(lean)


def test_lean_session_state_follows_updates_as_gradio_does() -> None:
    demo = _demo()
    box_id = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    eager, lean = SessionState(demo), LeanSessionState(demo)
    for state in (eager, lean):  # what a handler's gr.update does to the session's copy
        state[box_id] = gr.Textbox(value="changed", label="b")
        state._update_value_in_config(box_id, "changed")
    assert lean.config_values == eager.config_values
    assert lean.config_values[box_id]["props"]["value"] == "changed"
    state_id = next(k for k, b in demo.blocks.items() if isinstance(b, gr.State))
    assert lean[state_id] == {"n": 1} == eager[state_id]


def test_lean_state_holder_makes_lean_sessions() -> None:
    demo = _demo()
    holder = LeanStateHolder()
    holder.set_blocks(demo)
    assert isinstance(holder["session-1"], LeanSessionState)
    assert holder["session-1"] is holder["session-1"] and "session-1" in holder
    assert demo.state_holder is holder
    assert isinstance(StateHolder(), StateHolder)  # Gradio's own stays untouched


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # Gradio's own pandas calls
def test_tune_queue_polls_less_and_bounds_the_monitoring_summary() -> None:
    demo = _demo()
    demo.queue()
    queue = demo._queue
    # the attributes Gradio's queue reads (a rename in Gradio would leave the tuning without effect)
    assert queue.ANALYTICS_MAX_EVENTS == 10000 and queue.ANAYLTICS_CACHE_FREQUENCY == 1
    assert queue.sleep_when_free == 0.001 and queue.progress_update_sleep_when_free == 0.01
    tune_queue(demo)
    assert queue.ANALYTICS_MAX_EVENTS == ANALYTICS_EVENTS
    assert queue.ANAYLTICS_CACHE_FREQUENCY == ANALYTICS_EVERY
    assert queue.sleep_when_free == POLL_S and queue.progress_update_sleep_when_free == PROGRESS_S
    record = {
        "time": 0.0,
        "status": "success",
        "process_time": 0.1,
        "function": "decide",
        "session_hash": "s",
    }
    queue.events_recorded = ANALYTICS_EVERY
    first = queue.compute_analytics_summary([record])
    assert first["functions"]["decide"]["total_requests"] >= 1
    queue.events_recorded += ANALYTICS_EVERY - 1  # fewer new events than ANALYTICS_EVERY: the cached one
    assert queue.compute_analytics_summary([record, {**record, "function": "other"}]) is first
