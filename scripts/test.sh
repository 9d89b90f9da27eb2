#!/usr/bin/env bash
# Runs every CgSMS test against a real Odoo and a real PostgreSQL, on every Odoo series whose
# source tree it finds (18.0, 19.0), or on ODOO_SERIES alone when it is set:
#   1. pure-Python tests (tests/unit: providers against the fake gateway, counters, phones,
#      provider contracts against the published OpenAPI specifications), the JS counter tests
#      and the end-to-end tests (tests/e2e: real Odoo processes);
#   2. a fresh database with cgsms, cgsms_repairs and Odoo's SMS test modules installed, then the
#      addons' Odoo tests (incl. browser tours in headless Chromium) and Odoo's own `sms` and
#      `test_mail_sms` suites with our addons installed;
#      then one test file of the addons under pytest-odoo on that database (the fast loop of
#      scripts/pytest_odoo.sh);
#   3. a second database with OCA queue_job and the glue addon cgsms_queue_job, and its tests;
#      a third with Odoo's apps that send SMS (stock, project, events, calendar, POS, SMS
#      Marketing) and the test addon tests/odoo_addons/test_cgsms_apps;
#   4. the addons' wheels of the series, one installed into a scratch virtualenv and found by
#      Odoo (scripts/check_wheel.sh);
#   5. the addons' tests as an integrator's CI runs them: plain odoo-bin --test-enable in a
#      scratch virtualenv of our wheels and the test package cgsms-fake-gateway, then on a
#      database neutralized by odoo-bin neutralize (scripts/check_integrator.sh);
#   6. an upgrade from the previous release (.ci/previous-release) with real data, checked
#      record by record, then uninstall and install again (scripts/check_upgrade.sh).
# Prints one line per series (`odoo 19.0: N passed, N failed`), then one summary line
# (`total: N passed, N failed`), then the name of each failed test, and exits non-zero on any
# failure.
# Options (environment): CGSMS_TEST_TAGS overrides the Odoo test tags; CGSMS_KEEP_DB=1 keeps
# the test database; CGSMS_SKIP_UNIT=1 runs only the Odoo part and the wheel check (never in
# CI); with CGSMS_TEST_MODULES, CGSMS_TEST_PYTEST_ODOO_FILE=<file> also runs that file under
# pytest-odoo (the full run: addons/cgsms/tests/test_routing.py), CGSMS_TEST_DEMO=without
# installs them without demo data (e.g. CGSMS_TEST_MODULES=test_cgsms_apps, the apps'
# tests of tests/odoo_addons). Under CI
# (CI=true) every series is required: a missing source tree is a failure, not a skip.
set -uo pipefail
here=$(dirname "$0")

if [ -z "${ODOO_SERIES:-}" ]; then
  # Every series, each in its own run of this script. ODOO_SRC / CGSMS_VENV given without a
  # series belong to the default series, 18.0; the others use their own (ODOO_SRC_19, ...).
  series_env() { # series -> the env command line for a run of that series
    if [ "$1" = 18.0 ]; then echo env ODOO_SERIES="$1"; else echo env -u ODOO_SRC -u CGSMS_VENV ODOO_SERIES="$1"; fi
  }
  all_series=$(bash -c ". '$here/lib.sh' && echo \"\$CGSMS_SERIES_ALL\"") || exit 1
  var=$(bash -c ". '$here/lib.sh' && echo \"\$CGSMS_VAR\"")
  mkdir -p "$var/log"
  total_passed=0 total_failed=0 status=0 ran=0 lines=() runnable=()
  for series in $all_series; do
    # shellcheck disable=SC2046
    src=$($(series_env "$series") bash -c ". '$here/lib.sh' && echo \"\$ODOO_SRC\"")
    if [ ! -f "$src/odoo/release.py" ] && [ "$series" != 18.0 ]; then
      if [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; then
        printf '\033[1;31m[cgsms] error:\033[0m Odoo %s is required under CI and there is no source tree at %s: put one there (README, "Odoo 19.0") or set ODOO_SRC_%s.\n' \
          "$series" "$src" "${series%.0}" >&2
        lines+=("odoo $series: 0 passed, 1 failed (no source tree at $src)")
        status=1; total_failed=$((total_failed + 1))
        continue
      fi
      printf '\033[1m[cgsms]\033[0m No Odoo %s source tree at %s: Odoo %s not tested (set ODOO_SRC_%s).\n' \
        "$series" "$src" "${series%.0}" >&2
      lines+=("odoo $series: not tested (no source tree at $src)")
      continue
    fi
    runnable+=("$series")
  done
  # The series share one PostgreSQL cluster: set each up in turn (venv, cluster), then run
  # them side by side (CGSMS_SERIES_PARALLEL=0: one after the other). Each has its own
  # databases, ports and logs; its output lines start with its series.
  parallel=${CGSMS_SERIES_PARALLEL:-1}
  [ "${#runnable[@]}" -gt 1 ] || parallel=0
  for series in "${runnable[@]}"; do
    # shellcheck disable=SC2046
    $(series_env "$series") bash "$here/setup.sh" || status=1 # the series' run then says why
  done
  run_series() { # series: its whole run; exit status in $var/log/test-<series>.rc
    local series=$1
    printf '\033[1m[cgsms]\033[0m ===== Odoo %s =====\n' "$series" >&2
    rm -f "$var/log/test-$series.summary" "$var/log/test-$series.rc" "$var/log/test-$series.failures"
    # shellcheck disable=SC2046
    $(series_env "$series") CGSMS_SUMMARY_FILE="$var/log/test-$series.summary" \
      CGSMS_FAILURES_FILE="$var/log/test-$series.failures" bash "$0"
    echo $? > "$var/log/test-$series.rc"
  }
  pids=()
  for series in "${runnable[@]}"; do
    if [ "$parallel" = 0 ]; then
      run_series "$series"
    else
      (run_series "$series" 2>&1 | sed -u "s/^/[$series] /") &
      pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for series in "${runnable[@]}"; do
    ran=$((ran + 1))
    [ "$(cat "$var/log/test-$series.rc" 2>/dev/null)" = 0 ] || status=1
    read -r p f < "$var/log/test-$series.summary" 2>/dev/null || { p=0; f=1; }
    total_passed=$((total_passed + p)); total_failed=$((total_failed + f))
    lines+=("odoo $series: $p passed, $f failed")
  done
  echo
  for line in "${lines[@]}"; do echo "$line"; done
  echo "total: $total_passed passed, $total_failed failed"
  for series in "${runnable[@]}"; do # which tests failed, last, where a tail of the output shows them
    sed "s/^/failed on $series: /" "$var/log/test-$series.failures" 2>/dev/null
  done
  [ "$ran" -gt 0 ] || status=1
  [ "$total_failed" = 0 ] || status=1
  exit $status
fi

# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

bash "$here/setup.sh" || die "setup failed"
add_queue_job_addons
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
failures=() # one line per failed test or failed step: its name, and the log to read

run_counted() { # $1 the log's name, then a pytest command: runs it and adds its summary to
  # the counts; no test ran is a failure
  local name=$1 log_file=$CGSMS_VAR/log/$1-$ODOO_SERIES.log rc line
  "${@:2}" 2>&1 | tee "$log_file"
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || status=1
  line=$(grep -E '[0-9]+ (passed|failed|errors?)' "$log_file" | tail -n 1)
  [ -n "$line" ] || { log "$name ran no test"; status=1; failures+=("$name ran no test"); }
  add_counts "$line"
  mapfile -t -O "${#failures[@]}" failures < <(grep -E '^(FAILED|ERROR) ' "$log_file" | cut -c1-200)
}

run_pytest() { # runs tests/$1 (more pytest options after it)
  run_counted "pytest-$1" "$PY" -m pytest -q -p no:cacheprovider "$CGSMS_ROOT/tests/$1" "${@:2}"
}

if [ -z "${CGSMS_SKIP_UNIT:-}" ] || [ -n "${CI:-}" ]; then
  log "Pure-Python tests (tests/unit)"
  run_pytest unit

  if ls "$CGSMS_ROOT"/tests/unit/js/*.test.mjs >/dev/null 2>&1; then
    command -v node >/dev/null || die "Node.js is needed for the JS counter tests"
    log "JavaScript tests (tests/unit/js)"
    node --test "$CGSMS_ROOT"/tests/unit/js/ 2>&1 | tee "$CGSMS_VAR/log/node-$ODOO_SERIES.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || status=1
    p=$(grep -E '^# pass ' "$CGSMS_VAR/log/node-$ODOO_SERIES.log" | awk '{print $3}')
    f=$(grep -E '^# fail ' "$CGSMS_VAR/log/node-$ODOO_SERIES.log" | awk '{print $3}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    mapfile -t -O "${#failures[@]}" failures < <(grep -E '^not ok ' "$CGSMS_VAR/log/node-$ODOO_SERIES.log" | sed 's/^/node: /')
  fi

  log "End-to-end tests (tests/e2e: real Odoo processes, PostgreSQL, fake gateway over HTTP)"
  if [ -n "$CGSMS_QUEUE_JOB" ]; then
    run_pytest e2e
  else
    log "OCA queue_job is not installed in $CGSMS_VENV (scripts/setup.sh installs it): its end-to-end tests do not run"
    run_pytest e2e --ignore="$CGSMS_ROOT/tests/e2e/test_queue_job.py"
  fi
fi

# The addons install with pip as OCA's do (scripts/check_wheel.sh: seconds).
log "Wheels: build the Odoo $ODOO_SERIES wheels, install odoo-addon-cgsms into a scratch virtualenv"
run_counted wheel bash "$CGSMS_ROOT/scripts/check_wheel.sh"

# Each series its own HTTP port, so that both can run at once.
http_port=${CGSMS_TEST_HTTP_PORT:-$((8169 + 10 * (${ODOO_SERIES%%.*} - 18)))}

run_odoo_tests() { # $1 database, $2 test tags, $3 modules to install, [$4 addons path,
# $5 demo data: with (default) or without]
local db=$1 tags=$2 modules=$3 addons=${4:-$CGSMS_ADDONS} demo=${5:-with} rc line
log "Odoo $ODOO_SERIES ($ODOO_SRC, $CGSMS_VENV): creating a fresh test database '$db'"
dropdb --if-exists "$db" >/dev/null 2>&1 || true
log "Odoo tests ($tags) on $modules"
# shellcheck disable=SC2046
"$PY" "$CGSMS_ROOT/scripts/odoo_tests.py" --addons-path="$addons" $(odoo_db_args) \
  -d "$db" -i "$modules" --test-tags "$tags" --stop-after-init --http-port="$http_port" \
  --data-dir="$CGSMS_VAR/filestore-test$CGSMS_SERIES_SUFFIX" $(odoo_demo_args "$demo") --log-level=info --max-cron-threads=0 \
  --log-handler=werkzeug:WARNING \
  2>&1 | tee "$CGSMS_VAR/log/odoo-tests-$db.log" | grep -E --line-buffered \
    ' (ERROR|CRITICAL|WARNING) |^(FAIL|ERROR):|^Traceback|odoo: |post-tests in|odoo.modules.loading: [0-9]+ modules loaded|Starting |odoo.tests.stats'
rc=${PIPESTATUS[0]}
line=$(grep -E '^odoo: ' "$CGSMS_VAR/log/odoo-tests-$db.log" | tail -n 1)
if [ -z "$line" ] || [ "$line" = "odoo: no test ran" ]; then
  log "The Odoo test run produced no result (see $CGSMS_VAR/log/odoo-tests-$db.log)"
  status=1; failed=$((failed + 1)); failures+=("odoo ($db): no result, see $CGSMS_VAR/log/odoo-tests-$db.log")
else
  add_counts "$line"
fi
[ "$rc" = 0 ] || status=1
# each failed test, with the end of its traceback (at most 12 lines)
mapfile -t -O "${#failures[@]}" failures < <(awk -v db="$db" '
  /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (n) flush(); n = 0 }
  match($0, / (FAIL|ERROR): (Subtest )?[A-Za-z0-9_]+\.test[A-Za-z0-9_]*| (FAIL|ERROR): [a-zA-Z]+Class \([A-Za-z0-9_.]+\)/) {
    head = "odoo (" db "): " substr($0, RSTART + 1, RLENGTH - 1); n = 1; k = 0; next }
  n && NF { tail[++k] = $0 }
  function flush(  i) { print head; for (i = (k > 12 ? k - 11 : 1); i <= k; i++) print "    " tail[i]; n = 0 }
  END { if (n) flush() }' "$CGSMS_VAR/log/odoo-tests-$db.log")
if grep -qE ' (ERROR|CRITICAL) ' "$CGSMS_VAR/log/odoo-tests-$db.log"; then
  log "Odoo logged errors during the run (see $CGSMS_VAR/log/odoo-tests-$db.log)"
  status=1; failures+=("odoo ($db): errors in the log, see $CGSMS_VAR/log/odoo-tests-$db.log")
  # the first of them, each with its test, so that a run's summary alone says what went wrong
  mapfile -t -O "${#failures[@]}" failures < <(grep -E ' (ERROR|CRITICAL) ' "$CGSMS_VAR/log/odoo-tests-$db.log" \
    | grep -vE ' (FAIL|ERROR): ' | head -n 5 | cut -c1-300 | sed 's/^/    /')
fi
}

drop_test_db() {
  [ -n "${CGSMS_KEEP_DB:-}" ] || dropdb --if-exists "$1" >/dev/null 2>&1 || true
}

db=${CGSMS_TEST_DB:-cgsms_test}$CGSMS_SERIES_SUFFIX # one per series, as they may run at once
# The Odoo developer's fast loop keeps working: a test file of the addons under pytest-odoo
# (scripts/pytest_odoo.sh) on the database the run above installed.
run_pytest_odoo() { # $1 database
  local file=${CGSMS_TEST_PYTEST_ODOO_FILE:-addons/cgsms/tests/test_routing.py}
  log "pytest-odoo: $file on $1"
  run_counted "pytest-odoo" env CGSMS_PYTEST_DB="$1" \
    CGSMS_PYTEST_DATA_DIR="$CGSMS_VAR/filestore-test$CGSMS_SERIES_SUFFIX" \
    bash "$CGSMS_ROOT/scripts/pytest_odoo.sh" -q "$CGSMS_ROOT/$file"
}

if [ -n "${CGSMS_TEST_MODULES:-}" ]; then
  run_odoo_tests "$db" "${CGSMS_TEST_TAGS:-/cgsms,/cgsms_repairs,/sms,/test_mail_sms}" "$CGSMS_TEST_MODULES" \
    "$CGSMS_ADDONS,$CGSMS_ROOT/tests/odoo_addons" "${CGSMS_TEST_DEMO:-with}"
  [ -z "${CGSMS_TEST_PYTEST_ODOO_FILE:-}" ] || run_pytest_odoo "$db"
  drop_test_db "$db"
else
  run_odoo_tests "$db" "${CGSMS_TEST_TAGS:-/cgsms,/cgsms_repairs,/sms,/test_mail_sms}" \
    cgsms,cgsms_repairs,test_mail_sms
  run_pytest_odoo "$db"
  drop_test_db "$db"
  # The addons in a customer's Odoo: their tests as an integrator's CI runs them (plain
  # odoo-bin, our wheels, a database neutralized by odoo-bin neutralize), and an upgrade from
  # the previous release, then uninstall and install again.
  log "Integrator run: plain odoo-bin --test-enable from a scratch virtualenv of our wheels"
  run_counted check-integrator env CGSMS_TEST_HTTP_PORT="$http_port" bash "$CGSMS_ROOT/scripts/check_integrator.sh"
  log "Upgrade from the previous release (.ci/previous-release), uninstall, install again"
  run_counted check-upgrade env CGSMS_TEST_HTTP_PORT="$http_port" bash "$CGSMS_ROOT/scripts/check_upgrade.sh"
  # With queue_job the SMS queue runs as jobs: the glue addon's tests in a database of its own,
  # so that the tests above keep the cron path that runs without queue_job.
  if [ -n "${CGSMS_QUEUE_JOB:-}" ]; then
    run_odoo_tests "${db}_queue_job" "${CGSMS_TEST_QUEUE_JOB_TAGS:-/cgsms_queue_job}" cgsms_queue_job
    drop_test_db "${db}_queue_job"
  else
    log "OCA queue_job is not installed in $CGSMS_VENV (scripts/setup.sh installs it): cgsms_queue_job not tested"
  fi
  # Odoo's apps that send SMS (Inventory, Project, Events with website registration,
  # Calendar, Point of Sale, SMS Marketing) beside CgSMS, each driven by its own user, in a
  # database of their own without demo data (about 2 minutes): the test-only addon
  # tests/odoo_addons/test_cgsms_apps, and the SMS Marketing bridge's tests.
  run_odoo_tests "${db}_apps" "${CGSMS_TEST_APPS_TAGS:-/test_cgsms_apps,/cgsms_mass_mailing}" \
    test_cgsms_apps "$CGSMS_ADDONS,$CGSMS_ROOT/tests/odoo_addons" without
  drop_test_db "${db}_apps"
fi

echo
echo "odoo $ODOO_SERIES: $passed passed, $failed failed"
if [ -n "${CGSMS_SUMMARY_FILE:-}" ]; then
  echo "$passed $failed" > "$CGSMS_SUMMARY_FILE" # the run of every series prints the total
  printf '%s\n' "${failures[@]}" | grep -v '^$' > "${CGSMS_FAILURES_FILE:-/dev/null}"
else
  echo "total: $passed passed, $failed failed"
  printf '%s\n' "${failures[@]}" | grep -v '^$' | sed 's/^/failed: /'
fi
[ "$failed" = 0 ] || status=1
exit $status
