"""assistant.backbones.serving: what `align serve` runs with when the settings do not say."""

import os

import pytest

from assistant.backbones.llamacpp.backbone import LlamaCppOptions
from assistant.backbones.serving import (
    MAX_SERVING_THREADS,
    MIN_CONCURRENCY,
    for_serving,
    queue_concurrency,
    serving_threads,
    usable_cpus,
)
from assistant.settings import Settings
from tests.helpers.settings_env import clear_align_settings

VLLM = {"type": "openai", "base_url": "http://127.0.0.1:8000/v1", "flavour": "vllm"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    clear_align_settings(monkeypatch)
    monkeypatch.chdir(tmp_path)


def test_serving_leaves_a_core_to_the_server():
    assert [serving_threads(n) for n in (1, 2, 3, 4, 8)] == [1, 2, 2, 3, 7]
    assert serving_threads(64) == MAX_SERVING_THREADS
    assert serving_threads() == serving_threads(usable_cpus())
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)


def test_for_serving_fills_the_thread_count_only_where_none_is_set():
    settings = Settings(
        backbones={
            "embedded": {"type": "llamacpp"},
            "mine": {"type": "llamacpp", "n_threads": 2},
            "remote": VLLM,
        }
    )
    served = for_serving(settings)
    assert served.backbones["embedded"].options()["n_threads"] == serving_threads()
    assert served.backbones["mine"].options()["n_threads"] == 2  # the user's choice stands
    assert served.backbones["remote"].options() == settings.backbones["remote"].options()
    assert "n_threads" not in settings.backbones["embedded"].options()  # the original is untouched
    LlamaCppOptions(**served.backbones["embedded"].options())  # still valid options


def test_one_off_commands_keep_all_cores():
    assert LlamaCppOptions().n_threads == (os.cpu_count() or 1)


def test_queue_concurrency_follows_the_widest_backbone():
    assert queue_concurrency(Settings()) == MIN_CONCURRENCY  # the embedded model runs one at a time
    assert queue_concurrency(Settings(backbones={"embedded": {"type": "llamacpp"}, "v": VLLM})) == 8
    wide = {**VLLM, "max_concurrency": 12}
    assert queue_concurrency(Settings(backbones={"embedded": {"type": "llamacpp"}, "v": wide})) == 12
    one = {**VLLM, "flavour": "llamacpp-server"}
    assert queue_concurrency(Settings(backbones={"embedded": {"type": "llamacpp"}, "l": one})) == 4


def test_give_way_lowers_the_calling_thread_and_what_it_starts_only():
    import threading

    from assistant.backbones.serving import give_way

    assert give_way(0) is None
    if os.getpriority(os.PRIO_PROCESS, 0) > 15:
        pytest.skip("this process already runs nearly as nice as can be")
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = os.getpriority(os.PRIO_PROCESS, 0)

    def server_thread() -> None:
        seen["before"] = os.getpriority(os.PRIO_PROCESS, 0)
        seen["now"] = give_way(3)
        started = threading.Thread(target=child)
        started.start()
        started.join()

    base = os.getpriority(os.PRIO_PROCESS, 0)
    t = threading.Thread(target=server_thread)
    t.start()
    t.join()
    assert seen["now"] == seen["before"] + 3 == seen["child"]
    assert os.getpriority(os.PRIO_PROCESS, 0) == base, "the other threads keep their priority"
