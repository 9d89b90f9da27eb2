"""The command line: ``python scripts/fake_gateway.py --port 8070 [--callback-base URL]`` runs
the gateway; ``python scripts/fake_gateway.py reply --from +351912345678 --text STOP`` makes
the running gateway's customer answer (control API ``POST /_control/reply``)."""

import argparse
import json
import logging
import sys
import urllib.request

from .server import FakeGateway


def reply(argv):
    """Ask a running gateway to post a customer's reply to Odoo; prints its answer."""
    parser = argparse.ArgumentParser(
        prog="fake_gateway.py reply", description="A customer of the fake gateway answers"
    )
    parser.add_argument("--gateway", default="http://127.0.0.1:8070")
    parser.add_argument("--provider", default="sandbox", choices=("sandbox", "twilio", "vonage"))
    parser.add_argument("--from", dest="sender", required=True, help="the customer's number")
    parser.add_argument("--text", required=True)
    parser.add_argument("--url", help="Odoo's replies URL (default: beside the last report URL)")
    parser.add_argument("--to", help="the number answered (default: the last sender)")
    parser.add_argument("--message-id", help="the id of an earlier reply, to replay it")
    parser.add_argument("--opt-out-type", choices=("STOP", "START", "HELP"), help="Twilio")
    parser.add_argument("--method", choices=("GET", "POST", "POST-FORM"), help="Vonage")
    args = parser.parse_args(argv)
    data = {"provider": args.provider, "from": args.sender, "text": args.text}
    for key in ("url", "to", "message_id", "opt_out_type", "method"):
        if getattr(args, key):
            data[key] = getattr(args, key)
    request = urllib.request.Request(
        f"{args.gateway.rstrip('/')}/_control/reply",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        sys.stderr.write(f"{exc.code}: {exc.read().decode(errors='replace')}\n")
        return 1
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0 if answer.get("codes") and set(answer["codes"]) == {200} else 1


def main(argv=None):
    """Run the gateway in the foreground until interrupted (or, with ``reply``, make its
    customer answer)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reply"]:
        return reply(argv[1:])
    parser = argparse.ArgumentParser(description="CgSMS fake SMS gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument(
        "--callback-base",
        default="",
        help="Odoo base URL for delivery reports of messages without callback",
    )
    parser.add_argument(
        "--auto-deliver",
        action="store_true",
        help="send a 'delivered' report shortly after every message",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every provider call, as a distant provider would",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    gateway = FakeGateway(args.host, args.port, args.callback_base, args.auto_deliver)
    gateway.latency = args.latency / 1000.0
    gateway.start()
    # the first line on stdout is read by the scripts and tests that start the gateway
    sys.stdout.write(f"Fake SMS gateway on {gateway.url} (Ctrl-C to stop)\n")
    sys.stdout.flush()
    gateway.serve_forever()
    return 0
