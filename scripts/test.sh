#!/usr/bin/env bash
# Runs every CgSMS test against a real Odoo 18.0 and a real PostgreSQL:
#   1. pure-Python tests (tests/unit: providers against the fake gateway, counters, phones,
#      provider contracts against the published OpenAPI specifications) and the JS counter tests;
#   2. a fresh database with cgsms, cgsms_repairs and Odoo's SMS test modules installed, then the
#      addons' Odoo tests (incl. browser tours in headless Chromium) and Odoo's own `sms` and
#      `test_mail_sms` suites with our addons installed;
#   3. a second database with OCA queue_job and the glue addon cgsms_queue_job, and its tests.
# Prints one summary line at the end and exits non-zero on any failure.
# Options (environment): CGSMS_TEST_TAGS overrides the Odoo test tags; CGSMS_KEEP_DB=1 keeps
# the test database; CGSMS_SKIP_UNIT=1 runs only the Odoo part (never in CI).
set -uo pipefail
here=$(dirname "$0")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

bash "$here/setup.sh" || die "setup failed"
pg_env

passed=0 failed=0
add_counts() { # reads "N passed" / "N failed" from a summary line
  local line=$1 p f
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)
  f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | awk '{s += $1} END {print s + 0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}
status=0
mkdir -p "$CGSMS_VAR/log"

run_pytest() { # runs tests/$1 and adds its summary to the counts; no test ran is a failure
  local log_file=$CGSMS_VAR/log/pytest-$1.log rc line
  "$PY" -m pytest -q -p no:cacheprovider "$CGSMS_ROOT/tests/$1" 2>&1 | tee "$log_file"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || status=1
  line=$(grep -E '[0-9]+ (passed|failed|errors?)' "$log_file" | tail -n 1)
  [ -n "$line" ] || { log "tests/$1 ran no test"; status=1; }
  add_counts "$line"
}

if [ -z "${CGSMS_SKIP_UNIT:-}" ] || [ -n "${CI:-}" ]; then
  log "Pure-Python tests (tests/unit)"
  run_pytest unit

  if ls "$CGSMS_ROOT"/tests/unit/js/*.test.mjs >/dev/null 2>&1; then
    command -v node >/dev/null || die "Node.js is needed for the JS counter tests"
    log "JavaScript tests (tests/unit/js)"
    node --test "$CGSMS_ROOT"/tests/unit/js/ 2>&1 | tee "$CGSMS_VAR/log/node.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || status=1
    p=$(grep -E '^# pass ' "$CGSMS_VAR/log/node.log" | awk '{print $3}')
    f=$(grep -E '^# fail ' "$CGSMS_VAR/log/node.log" | awk '{print $3}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  fi

  log "End-to-end tests (tests/e2e: real Odoo processes, PostgreSQL, fake gateway over HTTP)"
  run_pytest e2e
fi

run_odoo_tests() { # $1 database, $2 test tags, $3 modules to install
local db=$1 tags=$2 modules=$3 rc line
log "Creating a fresh test database '$db'"
dropdb --if-exists "$db" >/dev/null 2>&1 || true
log "Odoo tests ($tags) on $modules"
# shellcheck disable=SC2046
"$PY" "$CGSMS_ROOT/scripts/odoo_tests.py" --addons-path="$CGSMS_ADDONS" $(odoo_db_args) \
  -d "$db" -i "$modules" --test-tags "$tags" --stop-after-init --http-port="${CGSMS_TEST_HTTP_PORT:-8169}" \
  --data-dir="$CGSMS_VAR/filestore-test" --log-level=info --max-cron-threads=0 \
  --log-handler=werkzeug:WARNING \
  2>&1 | tee "$CGSMS_VAR/log/odoo-tests-$db.log" | grep -E --line-buffered \
    ' (ERROR|CRITICAL|WARNING) |^(FAIL|ERROR):|^Traceback|odoo: |post-tests in|odoo.modules.loading: [0-9]+ modules loaded|Starting |odoo.tests.stats'
rc=${PIPESTATUS[0]}
line=$(grep -E '^odoo: ' "$CGSMS_VAR/log/odoo-tests-$db.log" | tail -n 1)
if [ -z "$line" ] || [ "$line" = "odoo: no test ran" ]; then
  log "The Odoo test run produced no result (see $CGSMS_VAR/log/odoo-tests-$db.log)"
  status=1; failed=$((failed + 1))
else
  add_counts "$line"
fi
[ "$rc" = 0 ] || status=1
if grep -qE ' (ERROR|CRITICAL) ' "$CGSMS_VAR/log/odoo-tests-$db.log"; then
  log "Odoo logged errors during the run (see $CGSMS_VAR/log/odoo-tests-$db.log)"
  status=1
fi
[ -n "${CGSMS_KEEP_DB:-}" ] || dropdb --if-exists "$db" >/dev/null 2>&1 || true
}

db=${CGSMS_TEST_DB:-cgsms_test}
if [ -n "${CGSMS_TEST_MODULES:-}" ]; then
  run_odoo_tests "$db" "${CGSMS_TEST_TAGS:-/cgsms,/cgsms_repairs,/sms,/test_mail_sms}" "$CGSMS_TEST_MODULES"
else
  run_odoo_tests "$db" "${CGSMS_TEST_TAGS:-/cgsms,/cgsms_repairs,/sms,/test_mail_sms}" \
    cgsms,cgsms_repairs,test_mail_sms
  # With queue_job the SMS queue runs as jobs: the glue addon's tests in a database of its own,
  # so that the tests above keep the cron path that runs without queue_job.
  run_odoo_tests "${db}_queue_job" "${CGSMS_TEST_QUEUE_JOB_TAGS:-/cgsms_queue_job}" cgsms_queue_job
fi

echo
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ] || status=1
exit $status
