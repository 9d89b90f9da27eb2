"""Run Odoo's server command with the given arguments and report its test results.

Odoo's own runner only logs its counts; this wrapper runs the very same server code
in-process (HTTP server included, for the browser tours) and then prints one summary line
that scripts/test.sh reads: ``odoo: N passed, N failed``.

The addons' tests import the project's fake SMS gateway (the package tests/fake_gateway, a test
and demo tool kept outside the installable addons) as ``fake_gateway``: this runner puts that
folder first on the path. PYTHONPATH would not do: Python looks first in this script's own
folder, where scripts/fake_gateway.py (the gateway's command line) has the same name.
"""

import os
import sys

import odoo.cli.server
from odoo.modules.registry import Registry
from odoo.service import server

TESTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")


def main(argv):
    sys.path.insert(0, TESTS_DIR)  # before the addons' tests are imported
    reports = []
    preload = server.preload_registries

    def preload_and_capture(dbnames):
        rc = preload(dbnames)
        for dbname in dbnames:
            registry = Registry.registries.get(dbname) if dbname in Registry.registries else None
            if registry is not None and registry._assertion_report is not None:
                reports.append(registry._assertion_report)
        return rc

    server.preload_registries = preload_and_capture
    try:
        odoo.cli.server.main(argv)
        rc = 0
    except SystemExit as exc:
        rc = exc.code or 0
    run = sum(r.testsRun for r in reports)
    failed = sum(r.failures_count + r.errors_count for r in reports)
    if run == 0 and failed == 0:
        print("odoo: no test ran", flush=True)
        return 1
    print(f"odoo: {max(run - failed, 0)} passed, {failed} failed", flush=True)
    return 1 if (rc or failed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
