#!/usr/bin/env python3
"""Run the CgSMS fake SMS gateway in the foreground.

python scripts/fake_gateway.py --port 8070 [--callback-base http://localhost:8069]
python scripts/fake_gateway.py reply --from +351912345678 --text STOP [--provider sandbox]
"""

import os
import sys

TESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests")

if __name__ == "__main__":
    # The gateway is the package tests/fake_gateway. Its folder goes first on the path: this
    # script's own folder (where Python looks first) would give this very file for its name.
    sys.path.insert(0, os.path.normpath(TESTS_DIR))
    from fake_gateway import main

    sys.exit(main())
