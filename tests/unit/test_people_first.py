"""PeopleFirst: background work waits while a person's decision is in flight, and stops when told."""

from __future__ import annotations

import threading

import pytest

from assistant.decisions.priority import PeopleFirst


class Gone(Exception):
    pass


def test_background_work_waits_for_people_and_its_own_decisions_do_not_count():
    people = PeopleFirst(poll_s=0.01)
    order: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def person() -> None:
        with people.person():
            entered.set()
            release.wait(10)
            order.append("person done")

    thread = threading.Thread(target=person)
    thread.start()
    entered.wait(10)
    waiter = threading.Thread(target=lambda: (people.wait_turn(), order.append("background item")))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and order == []  # it waits while the person's decision is in flight
    release.set()
    thread.join(10)
    waiter.join(10)
    assert order == ["person done", "background item"] and people.waits == 1
    with people.background(), people.person():  # the background's own decisions are not people's
        assert people.in_flight == 0
        people.wait_turn()
    with people.person():
        assert people.in_flight == 1


def test_a_wait_stops_when_the_check_raises():
    people = PeopleFirst(poll_s=0.01)
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise Gone

    with people.person(), pytest.raises(Gone):
        people.wait_turn(check)
    with pytest.raises(Gone):
        people.wait_turn(check)  # checked even when nobody is deciding
