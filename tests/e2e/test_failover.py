"""Two providers for one company (two fake gateways): routing by destination, failover of
what certainly did not leave, never of what may have, and the primary taking the traffic
back once it is healthy again."""

from collections import Counter

import pytest

from .helpers import GatewayProcess, ProxyProcess, wait_until

COST = 1.44


@pytest.fixture(scope="module")
def second_gateway(project):
    gw = GatewayProcess(project["python"], project["log_dir"] / "gateway-second.log")
    yield gw
    gw.stop()


@pytest.fixture
def routed(runner, gateway, second_gateway, fresh):
    """The primary account at ``gateway`` (or a proxy in front of it) and a second account at
    ``second_gateway``; back to one account afterwards."""
    second_gateway.reset()

    def prepare(primary=None, second=None, **engine):
        fresh(**engine)
        return runner.run(
            "route_setup", gateway=second_gateway.url, primary=primary or {}, second=second or {}
        )

    yield prepare
    runner.run("route_teardown")


def _lines(snapshot):
    return {r["number"]: r for r in snapshot["recipients"]}


def _all_counts(*gateways):
    total = Counter()
    for gw in gateways:
        total.update(gw.counts())
    return total


def test_prefixes_send_each_destination_through_its_account(
    runner, gateway, second_gateway, routed, report
):
    routed(primary={"route_prefixes": "+44"}, second={"route_prefixes": "+351"})
    uk = [f"+4474001234{i:02d}" for i in range(5)]
    pt = [f"+3519123400{i:02d}" for i in range(5)]
    runner.run("queue_sms", numbers=uk + pt)
    runner.run("process_queue")
    snap = runner.run("route_snapshot")

    assert set(gateway.counts()) == set(uk)
    assert set(second_gateway.counts()) == set(pt)
    lines = _lines(snap)
    assert {lines[n]["account"] for n in uk} == {"primary"}
    assert {lines[n]["account"] for n in pt} == {"second"}
    report(
        "routing by prefix", primary=len(gateway.messages()), second=len(second_gateway.messages())
    )


def test_refused_connections_move_the_rest_to_the_second_then_traffic_returns(
    runner, project, gateway, second_gateway, routed, report
):
    proxy = ProxyProcess(project["python"], gateway.port)
    health = {"health_error_threshold": 5, "health_pause": 3600}
    routed(primary={"base_url": proxy.url, **health}, in_flight=2, rate=40.0, reconcile_delay=0)
    numbers = [f"+35191260{i:04d}" for i in range(120)]
    runner.run("queue_sms", numbers=numbers)
    worker = runner.start("process_queue")
    wait_until(lambda: len(gateway.messages()) >= 20, timeout=60, what="a part of the campaign")
    proxy.kill()  # the primary refuses connections from now on
    assert runner.result(worker)["ok"]
    runner.run("process_queue")  # whatever the first run left
    mid = runner.run("route_snapshot")
    # Calls that were in flight when the connection dropped may have left: they wait to be
    # looked up at the primary, never sent through the second account meanwhile.
    checking = [r["number"] for r in mid["recipients"] if r["state"] in ("checking", "sending")]
    assert not set(checking) & set(second_gateway.counts())

    proxy.start()  # the primary is reachable again: the lookups find or requeue them
    runner.run("reconcile_stale", minutes=16)
    runner.run("process_queue")
    final = runner.run("route_snapshot")
    counts = _all_counts(gateway, second_gateway)
    lines = _lines(final)
    at_primary = set(gateway.counts())

    assert counts == {n: 1 for n in numbers}, counts
    assert {r["state"] for r in final["recipients"]} == {"sent"}
    assert {lines[n]["account"] for n in second_gateway.counts()} == {"second"}
    assert {lines[n]["account"] for n in at_primary} == {"primary"}
    # Each account is charged for what it sent, nothing more: the primary's credits are
    # untouched for the SMS that left through the second one.
    for name, sent in (("primary", at_primary), ("second", set(second_gateway.counts()))):
        account = final["accounts"][name]
        assert account["charged"] == round(COST * len(sent), 4), (name, account)
        assert account["balance"] == round(1000 - COST * len(sent), 4), (name, account)
    assert final["accounts"]["primary"]["rotation"] == "out"
    assert any("Out of rotation" in s for s in final["accounts"]["primary"]["switches"])

    # The pause is over: the primary takes the traffic back.
    gateway.reset()
    second_gateway.reset()
    runner.run("route_pause_over")
    later = [f"+35191270{i:04d}" for i in range(10)]
    runner.run("queue_sms", numbers=later)
    runner.run("process_queue")
    back = runner.run("route_snapshot")
    proxy.kill()

    assert set(gateway.counts()) == set(later)
    assert not second_gateway.messages()
    assert back["accounts"]["primary"]["rotation"] == "in"
    assert any("Back in rotation" in s for s in back["accounts"]["primary"]["switches"])
    report(
        "primary refusing mid-campaign",
        queued=len(numbers),
        via_primary=len(at_primary),
        via_second=len(numbers) - len(at_primary),
        looked_up=len(checking),
        max_per_number=max(counts.values()),
        back_to_primary=len(later),
    )


def test_answer_lost_after_forwarding_is_looked_up_at_the_primary_only(
    runner, gateway, second_gateway, routed, report
):
    routed(in_flight=1, reconcile_delay=3600)
    numbers = [f"+35191280{i:04d}" for i in range(4)]
    gateway.fail("drop_after")  # the first send reaches the gateway, its answer is lost
    runner.run("queue_sms", numbers=numbers)
    runner.run("process_queue")
    runner.run("process_queue")  # a second queue run does not hand it to the other account
    mid = runner.run("route_snapshot")
    lost = [r for r in mid["recipients"] if r["state"] == "checking"]

    assert len(lost) == 1 and lost[0]["account"] == "primary", mid["recipients"]
    assert lost[0]["number"] not in second_gateway.counts()

    runner.run("route_reconcile_delay", reconcile_delay=0)
    runner.run("reconcile")
    final = runner.run("route_snapshot")
    counts = _all_counts(gateway, second_gateway)

    assert counts == {n: 1 for n in numbers}, counts
    assert not second_gateway.messages()
    assert {r["state"] for r in final["recipients"]} == {"sent"}
    report("answer lost at the primary", looked_up=1, second_messages=0)
