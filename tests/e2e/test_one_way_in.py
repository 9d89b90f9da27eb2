"""One way in: whatever screen sends an SMS, no provider call happens inside the user's
transaction. A request that fails after it dispatched sends nothing (the user tries again and
each number gets one SMS); a request that Odoo replays after a serialization failure sends
once. Every SMS that left has its history line and its debit."""

import time

import pytest

DOORS = [
    "send_form",
    "express",
    "composer",
    "chatter",
    "reminder",
    "scheduled_reminders",
    "invoice_post",
    "repair_save",
    "repair_done",
    "automation",
]
PRICE = 1.44  # credits per segment of the e2e account (one segment per SMS here)


@pytest.fixture(scope="module")
def door_user(runner):
    return runner.run("doors_setup")["user_id"]


def _numbers(door, fault):
    base = 100 * (DOORS.index(door) + 1) + (50 if fault == "serialization" else 0)
    return [f"+3519130{base + i:05d}" for i in range(2)]


def _assert_once_each(runner, gateway, numbers):
    counts = gateway.counts()
    assert {n: counts.get(n, 0) for n in numbers} == dict.fromkeys(numbers, 1)
    facts = runner.run("door_facts", numbers=numbers)
    sent = [line for line in facts["lines"] if line["state"] in ("sent", "delivered")]
    assert sorted(line["number"] for line in sent) == sorted(numbers), facts
    assert facts["debited"] == pytest.approx(PRICE * len(numbers)), facts


def _run_queue(runner):
    result = runner.run("process_queue")
    assert result["ok"], result


@pytest.mark.parametrize("door", DOORS)
def test_error_after_dispatch_sends_nothing_then_once(runner, gateway, fresh, door_user, door):
    numbers = _numbers(door, "raise")
    runner.run("prepare_door", door=door, numbers=numbers)
    failed = runner.run("door", door=door, numbers=numbers, user_id=door_user, fault="raise")
    assert failed["error"], failed
    _run_queue(runner)  # nothing was queued: the queue has nothing of them either
    counts = gateway.counts()
    if door != "scheduled_reminders":
        # (the scheduled reminders commit each customer's SMS as they go: kept, not repeated)
        assert not any(counts.get(n) for n in numbers), counts
    again = runner.run("door", door=door, numbers=numbers, user_id=door_user)
    assert not again["error"], again
    _run_queue(runner)
    _assert_once_each(runner, gateway, numbers)


@pytest.mark.parametrize("door", DOORS)
def test_serialization_failure_replayed_sends_once(runner, gateway, fresh, door_user, door):
    numbers = _numbers(door, "serialization")
    runner.run("prepare_door", door=door, numbers=numbers)
    result = runner.run(
        "door", door=door, numbers=numbers, user_id=door_user, fault="serialization"
    )
    assert result["tries"] == 2 and not result["error"], result
    _run_queue(runner)
    _assert_once_each(runner, gateway, numbers)


def test_resend_failed_with_an_error_after_dispatch(runner, gateway, fresh, door_user):
    numbers = ["+351913099001", "+351913099002"]
    gateway.fail("insufficient", count=2)
    runner.run("door", door="send_form", numbers=numbers, user_id=door_user)
    facts = runner.run("door_facts", numbers=numbers)
    assert {line["state"] for line in facts["lines"]} == {"failed"}, facts
    assert facts["debited"] == 0, facts
    for fault in ("raise", "serialization"):
        runner.run("door", door="resend", numbers=numbers, user_id=door_user, fault=fault)
    _run_queue(runner)
    _assert_once_each(runner, gateway, numbers)


@pytest.mark.parametrize("door", ["send_form", "express", "chatter"])
def test_answer_lost_on_a_users_send_is_looked_up_not_resent(
    runner, gateway, fresh, door_user, door
):
    """The provider took the SMS of a user's send and its answer was lost (a 504): the SMS
    is looked up at the provider, found, and never sent twice, however often the user or
    the queue tries."""
    fresh(reconcile_delay=1)
    numbers = [f"+3519130{DOORS.index(door):02d}9{i:02d}" for i in range(2)]
    gateway.fail("error_after")
    runner.run("door", door=door, numbers=numbers, user_id=door_user)
    facts = runner.run("door_facts", numbers=numbers)
    assert sorted(line["state"] for line in facts["lines"]) == ["checking", "sent"], facts
    _run_queue(runner)
    time.sleep(1.5)
    runner.run("reconcile")
    _run_queue(runner)
    _assert_once_each(runner, gateway, numbers)
