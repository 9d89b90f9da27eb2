"""A recipient is handed to the provider at most once, whatever happens to the process that
sends it: killed mid-call, provider timeouts, two queue workers, a person clicking resend."""

import time

import pytest

from .helpers import ProxyProcess, release, wait_until

NUMBERS = [f"+35191200{i:04d}" for i in range(1, 7)]
SLOW = 4.0  # seconds the gateway sleeps on a "slow" send


def _states(snapshot):
    return {r["number"]: r["state"] for r in snapshot["recipients"]}


def _state_counts(snapshot):
    counts = {}
    for r in snapshot["recipients"]:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    return dict(sorted(counts.items()))


def _by_ref(gateway):
    return {m["ref"]: m["id"] for m in gateway.messages()}


def _assert_provider_ids_match(snapshot, gateway):
    """Every SMS that left names the gateway's id of its own message (its reports match)."""
    ids = _by_ref(gateway)
    for r in snapshot["recipients"]:
        if r["state"] == "sent":
            assert r["provider_message_id"] == ids[r["sms_uuid"]], r


def test_killed_in_the_middle_of_a_concurrent_chunk(runner, gateway, fresh, report):
    """A worker is killed with calls in flight: the results that came back were saved as they
    arrived; only the calls in flight (and the chunk claimed to follow them) are left
    "sending", and the reconciliation looks them up at the provider. Nothing is sent twice,
    nothing is lost."""
    in_flight = 4
    fresh(in_flight=in_flight, reconcile_delay=0)
    numbers = [f"+35191210{i:04d}" for i in range(12)]
    runner.run("queue_sms", numbers=numbers)
    gateway.fail("slow", count=2, delay=0.1)  # the first two come back at once...
    gateway.fail("slow", count=in_flight, delay=SLOW)  # ...the next ones hang there

    worker = runner.start("process_queue")
    wait_until(
        lambda: (
            len(gateway.send_requests()) >= in_flight + 2
            and _state_counts(runner.run("snapshot")).get("sent", 0) >= 2
        ),
        timeout=90,
        interval=0.3,
        what="two results saved and the next calls in flight",
    )
    runner.kill(worker)
    after_kill = runner.run("snapshot")
    # The gateway finishes the interrupted calls: those SMS did leave.
    wait_until(lambda: len(gateway.messages()) >= in_flight + 2, timeout=SLOW + 10)

    runner.run("process_queue")  # the rest of the queue; the interrupted are not touched
    runner.run("reconcile_stale", minutes=16)  # the crash reconciliation, by lookup
    runner.run("process_queue")  # what the lookup sent back to the queue
    final = runner.run("snapshot")
    counts = gateway.counts()

    kill_states = _state_counts(after_kill)
    assert kill_states.get("sent") == 2
    # At most the calls in flight, and the next chunk claimed meanwhile (never handed over:
    # the lookup sends it back to the queue).
    assert kill_states.get("sending", 0) <= in_flight + in_flight // 2
    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    _assert_provider_ids_match(final, gateway)
    # Charged once per SMS (the chunk that never left was given back, then charged again).
    assert round(final["debited"] - final["refunded"], 4) == round(1.44 * len(numbers), 4)
    report(
        "killed mid-chunk",
        queued=len(numbers),
        in_flight=in_flight,
        at_kill=kill_states,
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        final=_state_counts(final),
    )


def test_killed_before_its_turn_is_sent_once_after_lookup(runner, gateway, fresh, report):
    """Claimed and paced by the rate limit, killed before its call: the provider never saw
    it, the lookup says so, and it leaves once (its credits reserved once)."""
    fresh(in_flight=4, rate=1.0, reconcile_delay=0)
    numbers = NUMBERS[:4]
    runner.run("queue_sms", numbers=numbers)
    worker = runner.start("process_queue")
    wait_until(lambda: gateway.messages(), timeout=60, what="the first send")
    runner.kill(worker)  # the other three wait for their slots (one per second)
    after_kill = runner.run("snapshot")
    runner.run("reconcile_stale", minutes=16)
    runner.run("process_queue")
    final = runner.run("snapshot")
    counts = gateway.counts()

    assert _state_counts(after_kill).get("sending", 0) >= 2
    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    _assert_provider_ids_match(final, gateway)
    assert round(final["debited"] - final["refunded"], 4) == round(1.44 * len(numbers), 4)
    report(
        "killed before its slot",
        at_kill=_state_counts(after_kill),
        gateway_messages=sum(counts.values()),
        final=_state_counts(final),
    )


def test_send_timeout_answered_late_is_found_not_resent(runner, gateway, fresh, report):
    """The provider answers after the client gave up: the SMS may have left (the gateway
    records it once it wakes up). It is looked up, found, and never sent a second time; the
    other SMS of the chunk leave meanwhile."""
    # Looked up 2 s after the failure: the provider may still be handling the call.
    fresh(reconcile_delay=2)
    numbers = NUMBERS[:3]
    runner.run("queue_sms", numbers=numbers)
    gateway.fail("slow", delay=3)
    runner.run("process_queue", provider_timeout=1)
    first = runner.run("snapshot")
    time.sleep(3)  # the gateway wakes up and records the timed-out SMS
    runner.run("reconcile")
    runner.run("process_queue", provider_timeout=1)
    final = runner.run("snapshot")
    counts = gateway.counts()

    assert sorted(_states(first).values()) == ["checking", "sent", "sent"]
    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    _assert_provider_ids_match(final, gateway)
    report(
        "timeout (answered late)",
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        after_timeout=_state_counts(first),
        final=_state_counts(final),
    )


def test_gateway_timeout_without_delivery_is_sent_once_after_lookup(runner, gateway, fresh, report):
    """Same client timeout, but this time the provider dropped the message: the lookup says
    the provider does not have it, so it is sent again, once."""
    fresh(reconcile_delay=2)
    number = NUMBERS[3]
    runner.run("queue_sms", numbers=[number])
    gateway.fail("timeout", delay=3)
    runner.run("process_queue", provider_timeout=1)
    first = runner.run("snapshot")
    time.sleep(3)
    runner.run("reconcile")
    runner.run("process_queue", provider_timeout=1)
    final = runner.run("snapshot")
    counts = gateway.counts()
    send_requests = len(gateway.send_requests())

    assert _states(first) == {number: "checking"}
    assert send_requests == 2  # the lost one, then the one sent after the lookup
    assert counts[number] == 1
    assert _states(final) == {number: "sent"}
    assert round(final["debited"] - final["refunded"], 4) == 1.44
    report(
        "timeout (dropped)",
        send_requests=send_requests,
        gateway_messages=sum(counts.values()),
        final=_state_counts(final),
    )


@pytest.mark.parametrize("mode", ["drop_after", "error_after"])
def test_answer_lost_after_the_provider_took_it(runner, gateway, fresh, report, mode):
    """A proxy forwarded the SMS, then dropped the connection or answered 504: one copy at
    the provider, found by the lookup, never resent."""
    fresh(reconcile_delay=1)
    numbers = NUMBERS[:3]
    runner.run("queue_sms", numbers=numbers)
    gateway.fail(mode)
    runner.run("process_queue")
    first = runner.run("snapshot")
    time.sleep(1.5)
    runner.run("reconcile")
    runner.run("process_queue")
    final = runner.run("snapshot")
    counts = gateway.counts()

    assert sorted(_states(first).values()) == ["checking", "sent", "sent"]
    assert len(gateway.send_requests()) == 3
    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    _assert_provider_ids_match(final, gateway)
    assert final["debited"] == round(1.44 * len(numbers), 4)
    report(
        f"answer lost ({mode})",
        gateway_messages=sum(counts.values()),
        after_send=_state_counts(first),
        final=_state_counts(final),
    )


def test_proxy_killed_mid_request(runner, gateway, fresh, project, report):
    """The proxy in front of the provider dies while the provider handles the SMS: one copy
    at the provider, found by the lookup once the proxy is back; the SMS that could not
    reach the provider meanwhile leave once."""
    proxy = ProxyProcess(project["python"], gateway.port)
    try:
        fresh(base_url=proxy.url, reconcile_delay=0, in_flight=1)
        numbers = NUMBERS[:3]
        runner.run("queue_sms", numbers=numbers)
        gateway.fail("slow", delay=2)
        worker = runner.start("process_queue")
        wait_until(lambda: gateway.send_requests(), timeout=60, what="the first send")
        proxy.kill()
        result = runner.result(worker)
        first = runner.run("snapshot")
        wait_until(lambda: gateway.messages(), timeout=10, what="the slow send")
        proxy.start()  # the proxy is back
        runner.run("reconcile")
        runner.run("process_queue")
        final = runner.run("snapshot")
    finally:
        proxy.kill()
    counts = gateway.counts()

    assert result["ok"], result
    # The first is being checked; the next found the proxy gone (refused: certainly not
    # sent), went back to the queue and stopped the run.
    states = _states(first)
    assert states.pop(numbers[0]) == "checking"
    assert set(states.values()) == {"queued"}
    assert counts == {n: 1 for n in numbers}, counts
    assert set(_states(final).values()) == {"sent"}
    _assert_provider_ids_match(final, gateway)
    report(
        "proxy killed",
        after_kill=_state_counts(first),
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
