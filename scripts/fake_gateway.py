#!/usr/bin/env python3
"""Run the CgSMS fake SMS gateway in the foreground.

python scripts/fake_gateway.py --port 8070 [--callback-base http://localhost:8069]
"""

import os
import sys

ADDON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "addons", "cgsms")

if __name__ == "__main__":
    # ``providers`` is a self-contained package inside the addon: import it without Odoo.
    sys.path.insert(0, os.path.normpath(ADDON_DIR))
    from providers.fake_gateway import main

    sys.exit(main())
