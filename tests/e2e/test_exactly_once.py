"""A recipient is handed to the provider at most once, whatever happens to the process that
sends it: killed mid-call, provider timeouts, two queue workers, a person clicking resend."""

import time

from .helpers import release, wait_until

NUMBERS = [f"+35191200{i:04d}" for i in range(1, 7)]
SLOW = 4.0  # seconds the gateway sleeps on a "slow" send


def _states(snapshot):
    return {r["number"]: r["state"] for r in snapshot["recipients"]}


def _state_counts(snapshot):
    counts = {}
    for r in snapshot["recipients"]:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    return dict(sorted(counts.items()))


def test_killed_between_provider_call_and_commit_never_resends(runner, gateway, fresh, report):
    fresh(batch_size=2)
    runner.run("queue_sms", numbers=NUMBERS)
    gateway.fail("slow", delay=SLOW)

    worker = runner.start("process_queue")
    # The first batch (2 SMS) is committed as "sending"; the gateway holds the first call.
    wait_until(lambda: gateway.send_requests(), timeout=60, what="the first send")
    runner.kill(worker)
    # The gateway finishes the interrupted call and records it: the SMS did leave.
    wait_until(lambda: gateway.messages(), timeout=SLOW + 5, what="the slow send")

    runner.run("process_queue")
    after_restart = runner.run("snapshot")
    runner.run("process_queue")  # and once more: nothing left to send
    runner.run("reconcile_stale", minutes=16)
    runner.run("process_queue")
    final = runner.run("snapshot")
    counts = gateway.counts()

    interrupted = NUMBERS[:2]
    assert [_states(after_restart)[n] for n in interrupted] == ["sending", "sending"]
    assert max(counts.values()) == 1, counts
    assert counts[NUMBERS[0]] == 1  # left before the kill
    assert counts[NUMBERS[1]] == 0  # never handed over, but nobody can know: not resent
    assert all(counts[n] == 1 for n in NUMBERS[2:])
    states = _states(final)
    assert all(states[n] == "unknown" for n in interrupted)
    assert all(states[n] == "sent" for n in NUMBERS[2:])
    flagged = [r for r in final["recipients"] if r["state"] == "unknown"]
    assert all("interrupted" in r["failure_reason"] for r in flagged)
    assert final["debited"] == round(1.44 * len(NUMBERS), 4)  # the interrupted may have left
    report(
        "killed mid-call",
        queued=len(NUMBERS),
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        after_restart=_state_counts(after_restart),
        after_reconcile=_state_counts(final),
    )


def test_send_timeout_is_not_resent_automatically(runner, gateway, fresh, report):
    """The provider answers after the client gave up: the SMS may have left (the gateway
    records it once it wakes up). It is flagged for checking, never sent a second time; the
    SMS not attempted in that batch go back to the queue and leave on the next run."""
    fresh()
    numbers = NUMBERS[:3]
    runner.run("queue_sms", numbers=numbers)
    gateway.fail("slow", delay=3)
    runner.run("process_queue", provider_timeout=1)
    first = runner.run("snapshot")
    time.sleep(3)  # the gateway wakes up and records the timed-out SMS
    runner.run("process_queue", provider_timeout=1)
    runner.run("process_queue", provider_timeout=1)
    final = runner.run("snapshot")
    counts = gateway.counts()

    assert _states(first) == {numbers[0]: "unknown", numbers[1]: "queued", numbers[2]: "queued"}
    assert counts == {n: 1 for n in numbers}, counts
    assert _states(final) == {numbers[0]: "unknown", numbers[1]: "sent", numbers[2]: "sent"}
    report(
        "timeout (answered late)",
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        after_timeout=_state_counts(first),
        final=_state_counts(final),
    )


def test_gateway_timeout_without_delivery_is_flagged_not_duplicated(runner, gateway, fresh, report):
    """Same client timeout, but this time the provider dropped the message: the code cannot
    tell the two cases apart, so it makes the same safe choice (flag, no automatic resend)."""
    fresh()
    number = NUMBERS[3]
    runner.run("queue_sms", numbers=[number])
    gateway.fail("timeout", delay=3)
    runner.run("process_queue", provider_timeout=1)
    time.sleep(3)
    runner.run("process_queue", provider_timeout=1)
    final = runner.run("snapshot")
    counts = gateway.counts()
    send_requests = len(gateway.send_requests())

    assert send_requests == 1  # not retried inside the call either
    assert counts[number] == 0
    assert _states(final) == {number: "unknown"}
    report(
        "timeout (dropped)",
        send_requests=send_requests,
        gateway_messages=sum(counts.values()),
        final=_state_counts(final),
    )


def _race(runner, gateway, barrier, stagger):
    runner.run("queue_sms", numbers=NUMBERS)
    gateway.fail("slow", count=len(NUMBERS), delay=0.5)
    if stagger:
        first = runner.start("process_queue")
        wait_until(lambda: gateway.send_requests(), timeout=60, what="the first send")
        second = runner.start("process_queue")
        workers = [first, second]
    else:
        workers = [runner.start("process_queue", barrier=barrier) for _ in range(2)]
        release(barrier, 2)
    results = [runner.result(w) for w in workers]
    runner.run("process_queue")
    return results, runner.run("snapshot"), gateway.counts()


def _outcome(result):
    seen = f"saw {result.get('outgoing_seen', '?')} queued"
    if not result["ok"]:
        return f"{seen}, failed ({result['error']})"
    if result["logged_errors"]:
        return f"{seen}, lost the race ({result['logged_errors'][0]})"
    return f"{seen}, ok"


def test_two_queue_workers_same_snapshot_send_each_once(runner, gateway, fresh, barrier, report):
    fresh()
    results, final, counts = _race(runner, gateway, barrier, stagger=False)
    assert counts == {n: 1 for n in NUMBERS}, counts
    assert set(_states(final).values()) == {"sent"}
    assert final["debited"] == round(1.44 * len(NUMBERS), 4)
    report(
        "two workers, same snapshot",
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        worker_1=_outcome(results[0]),
        worker_2=_outcome(results[1]),
    )


def test_two_queue_workers_staggered_send_each_once(runner, gateway, fresh, barrier, report):
    fresh()
    results, final, counts = _race(runner, gateway, barrier, stagger=True)
    assert counts == {n: 1 for n in NUMBERS}, counts
    assert set(_states(final).values()) == {"sent"}
    report(
        "two workers, staggered",
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        worker_1=_outcome(results[0]),
        worker_2=_outcome(results[1]),
    )


def test_resend_of_a_sent_sms_does_not_send_again(runner, gateway, fresh, report):
    fresh()
    numbers = NUMBERS[:2]
    runner.run("queue_sms", numbers=numbers)
    runner.run("process_queue")
    before = runner.run("snapshot")
    runner.run("resend", numbers=numbers)
    final = runner.run("snapshot")
    counts = gateway.counts()

    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    assert final["debited"] == before["debited"] == round(1.44 * len(numbers), 4)
    report(
        "resend / retry on sent",
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        debited=final["debited"],
    )
