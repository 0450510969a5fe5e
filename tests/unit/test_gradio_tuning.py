"""assistant.web.gradio_tuning: the lean session state equals Gradio's, built only when read; the queue's
monitoring summary is rebuilt every ANALYTICS_EVERY events over the last ANALYTICS_EVENTS."""

from __future__ import annotations

from asyncio import Queue as AsyncQueue

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


def test_lean_session_state_builds_each_config_copy_only_when_used() -> None:
    demo = _demo()
    box_id = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    lean = LeanSessionState(demo)
    assert dict(lean.config_values) == {}  # nothing copied up front
    lean._update_value_in_config(box_id, "typed")  # what an event does to its inputs and outputs
    assert list(lean.config_values) == [box_id]  # that component's copy only
    eager = SessionState(demo)
    eager._update_value_in_config(box_id, "typed")
    assert list(lean.components) == list(eager.components)  # read whole: Gradio's own, in its order
    assert lean.config_values == eager.config_values


def test_lean_session_state_follows_updates_as_gradio_does() -> None:
    demo = _demo()
    box_id = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    eager, lean = SessionState(demo), LeanSessionState(demo)
    for state in (eager, lean):  # what a handler's gr.update does to the session's copy
        state[box_id] = gr.Textbox(value="changed", label="b")
        state._update_value_in_config(box_id, "changed")
    assert list(lean.components) == list(eager.components)
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


def test_lean_state_holder_keeps_each_users_most_recent_sessions() -> None:
    demo = _demo()
    demo.queue()
    owners = {"tab": "bob", "alice-tab": "alice"}
    holder = LeanStateHolder(lambda s: owners.get(s, "bob" if s.startswith("bob") else None), per_user=3)
    holder.set_blocks(demo)
    state_id = next(k for k, b in demo.blocks.items() if isinstance(b, gr.State))
    holder["tab"][state_id] = {"n": 7}  # bob's open page keeps a value in its gr.State
    holder["alice-tab"][state_id] = {"n": 9}
    queue = demo._queue
    for i in range(10):
        holder[f"bob-{i}"]
        queue.pending_messages_per_session[f"bob-{i}"] = AsyncQueue()  # a result nobody read
        queue.pending_event_ids_session[f"bob-{i}"] = {f"done-{i}"}
        if i % 2:
            holder["tab"]  # the page is used now and then
    assert holder.sessions_of("bob") == ["bob-8", "bob-9", "tab"]
    assert holder.sessions_of("alice") == ["alice-tab"]
    assert "bob-0" not in holder and "tab" in holder and "alice-tab" in holder
    assert holder["tab"][state_id] == {"n": 7} and holder["alice-tab"][state_id] == {"n": 9}
    assert len(holder.session_data) == 4
    assert set(queue.pending_messages_per_session) == {"bob-8", "bob-9"}  # the dropped ones' went
    assert set(queue.pending_event_ids_session) == {"bob-8", "bob-9"}
    for i in range(5):
        holder[f"anon-{i}"]  # nobody known (local mode): one allowance for all of them
    assert holder.sessions_of(None) == ["anon-2", "anon-3", "anon-4"]


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
