"""Two sends on two database connections at the same time cannot overdraw the credits."""

from .helpers import release

COST = 1.44


def test_concurrent_sends_never_overdraw(runner, gateway, fresh, barrier, report):
    fresh(credits=3 * COST)  # enough for 3 SMS; each send wants 2
    batches = [["+351912100001", "+351912100002"], ["+351912100003", "+351912100004"]]
    workers = [runner.start("send_now", barrier=barrier, numbers=b) for b in batches]
    release(barrier, 2)  # both hold a snapshot taken before either reserved credits
    results = [runner.result(w) for w in workers]
    final = runner.run("snapshot")
    counts = gateway.counts()

    refused = [r for r in final["recipients"] if r["error_class"] == "insufficient_credit"]
    sent = [r for r in final["recipients"] if r["state"] == "sent"]
    assert all(r["ok"] for r in results), results
    assert sum(counts.values()) <= 3
    assert max(counts.values()) == 1
    assert len(sent) == sum(counts.values())
    assert refused, "one of the sends must be refused for lack of credits"
    assert final["debited"] <= round(3 * COST, 4) + 1e-6
    assert final["balance"] >= -1e-6
    assert final["lowest_balance"] >= -1e-6
    report(
        "credits under concurrency",
        balance_before=round(3 * COST, 4),
        gateway_messages=sum(counts.values()),
        sent=len(sent),
        refused=len(refused),
        debited=final["debited"],
        balance_after=final["balance"],
        lowest_balance=final["lowest_balance"],
        tries=[r.get("tries") for r in results],
    )
