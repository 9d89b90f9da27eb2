#!/usr/bin/env bash
# The Odoo developer's fast loop: the addons' Odoo tests under pytest-odoo, on a database that
# is made once (cgsms and cgsms_repairs installed, demo data) and kept, so that any test file
# runs in seconds:
#   scripts/pytest_odoo.sh addons/cgsms/tests/test_routing.py [more pytest arguments]
#   scripts/pytest_odoo.sh --odoo-http addons/cgsms/tests/test_send_form_tour.py
# ODOO_SERIES picks the series (18.0 by default); CGSMS_PYTEST_DB the database (default
# cgsms_pytest, cgsms_pytest_19 on 19.0); CGSMS_PYTEST_MODULES the modules of a new database;
# CGSMS_PYTEST_DATA_DIR its data directory; CGSMS_PYTEST_REBUILD=1 makes it again (after
# changing a model or a view, or update the module yourself with odoo-bin -u).
# scripts/test.sh stays the authoritative run: pytest-odoo runs post-install tests only.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

bash "$CGSMS_ROOT/scripts/setup.sh" >/dev/null || die "setup failed"
add_queue_job_addons
pg_env
db=${CGSMS_PYTEST_DB:-cgsms_pytest$CGSMS_SERIES_SUFFIX}
data_dir=${CGSMS_PYTEST_DATA_DIR:-$CGSMS_VAR/filestore-pytest$CGSMS_SERIES_SUFFIX}
if [ -n "${CGSMS_PYTEST_REBUILD:-}" ]; then dropdb --if-exists "$db"; fi
if ! psql -XAtqc "SELECT 1" "$db" >/dev/null 2>&1; then
  modules=${CGSMS_PYTEST_MODULES:-cgsms,cgsms_repairs}
  log "Creating the database $db ($modules, demo data) for pytest-odoo"
  # shellcheck disable=SC2046
  "$PY" "$ODOO_SRC/odoo-bin" --addons-path="$CGSMS_ADDONS" $(odoo_db_args) -d "$db" \
    -i "$modules" $(odoo_demo_args with) --data-dir="$data_dir" --stop-after-init \
    --log-level=warn --max-cron-threads=0 \
    || { dropdb --if-exists "$db"; die "Could not install $modules in $db"; }
fi
# The connection comes from PGHOST/PGPORT/PGUSER (pg_env), which Odoo's driver reads;
# pytest-odoo from beside the virtualenv (setup.sh, requirements-pytest-odoo.txt); the fake
# gateway (tests/fake_gateway), which the addons' tests import, from tests/.
cd "$CGSMS_ROOT"
PYTHONPATH=$CGSMS_VAR/pytest-odoo-$ODOO_SERIES:$CGSMS_ROOT/tests${PYTHONPATH:+:$PYTHONPATH} exec "$PY" -m pytest -p no:cacheprovider --odoo-database="$db" \
  --odoo-addons-path="$CGSMS_ADDONS" --odoo-extra="data-dir=$data_dir" "$@"
