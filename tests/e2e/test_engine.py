"""The delivery engine against a provider that enforces a rate: the account's rate is never
exceeded, even by two workers draining one queue, and the provider's 429s are honoured."""

from collections import Counter

from .helpers import release


def _states(snapshot):
    return Counter(r["state"] for r in snapshot["recipients"])


def _peak_per_second(requests):
    """Most sends the gateway received within any one second."""
    times = sorted(r["time"] for r in requests)
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def test_two_workers_share_the_rate_and_send_each_once(runner, gateway, fresh, barrier, report):
    rate, burst = 40, 8
    fresh(in_flight=10, rate=rate)
    gateway.settings(rate_limit=rate, rate_burst=burst)
    numbers = [f"+35191500{i:04d}" for i in range(240)]
    runner.run("queue_sms", numbers=numbers)
    workers = [runner.start("process_queue", barrier=barrier) for _ in range(2)]
    release(barrier, 2)
    results = [runner.result(w) for w in workers]
    runner.run("process_queue")  # whatever a worker may have left
    final = runner.run("snapshot")
    counts = gateway.counts()
    sends = gateway.send_requests()
    limited = [r for r in sends if r.get("limited")]

    assert all(r["ok"] for r in results), results
    assert counts == {n: 1 for n in numbers}, counts
    assert _states(final) == {"sent": len(numbers)}
    assert limited == []  # the provider never had to refuse: the rate was kept
    assert _peak_per_second(sends) <= rate + burst
    report(
        "two workers, shared rate",
        rate=rate,
        gateway_messages=sum(counts.values()),
        max_per_number=max(counts.values()),
        refused_429=len(limited),
        peak_per_second=_peak_per_second(sends),
        worker_logged_errors=[len(r["logged_errors"]) for r in results],
    )


def test_provider_429_is_honoured_and_nothing_is_lost(runner, gateway, fresh, report):
    """The account claims 200/s but the provider allows 50/s: its 429s are backed off
    (Retry-After) and those SMS leave later, each once."""
    fresh(in_flight=10, rate=200)
    gateway.settings(rate_limit=50, rate_burst=5)
    numbers = [f"+35191600{i:04d}" for i in range(150)]
    runner.run("queue_sms", numbers=numbers)
    runner.run("process_queue")
    runner.run("process_queue")
    final = runner.run("snapshot")
    counts = gateway.counts()
    sends = gateway.send_requests()
    limited = [r for r in sends if r.get("limited")]

    assert counts == {n: 1 for n in numbers}, counts
    assert _states(final) == {"sent": len(numbers)}
    assert limited  # the provider did refuse some...
    assert len(limited) < len(numbers)  # ...and was not hammered
    assert round(final["debited"] - final["refunded"], 4) == round(1.44 * len(numbers), 4)
    report(
        "provider 429",
        gateway_messages=sum(counts.values()),
        refused_429=len(limited),
        send_requests=len(sends),
    )
