"""The command line: ``python scripts/fake_gateway.py --port 8070 [--callback-base URL]``."""

import argparse
import logging
import sys

from .server import FakeGateway


def main(argv=None):
    """Run the gateway in the foreground until interrupted."""
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
