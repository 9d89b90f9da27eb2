#!/usr/bin/env bash
# Captures the README's screenshots (docs/screenshots/*.png) with the test suite's browser:
# runs the Odoo test TestScreenshots (cgsms_repairs) on a fresh database with CGSMS_SCREENSHOTS=1,
# which writes the PNG files instead of throwing them away. CGSMS_TEST_HTTP_PORT picks the port.
set -euo pipefail
here=$(dirname "$0")
CGSMS_SCREENSHOTS=1 CGSMS_SKIP_UNIT=1 \
  CGSMS_TEST_TAGS=/cgsms_repairs:TestScreenshots CGSMS_TEST_MODULES=cgsms,cgsms_repairs \
  CGSMS_TEST_DB=${CGSMS_TEST_DB:-cgsms_screenshots} \
  exec bash "$here/test.sh"
