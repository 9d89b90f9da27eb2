#!/usr/bin/env bash
# Runs the addons' Odoo tests on ODOO_SERIES exactly as an integrator's CI (Odoo.sh, runbot,
# OCA's CI) would: plain odoo-bin --test-enable, in a scratch virtualenv that holds our wheels
# (scripts/wheels.sh) and the test package cgsms-fake-gateway (tests/fake_gateway), on top of
# Odoo and its requirements; Odoo's own addons path only, nothing of the repository on the path
# and no runner of ours. Prints "integrator: N passed, N failed" for scripts/test.sh.
# CGSMS_INTEGRATOR_TAGS: the tests run (default: a class of each addon that uses the fake
# gateway, the neutralization test and Odoo's own SMS tests with ours installed: the registry
# must load for all of them). Then, on that database: a run without the test package (the
# registry loads, the tests that need it are skipped with the reason), and a copy of
# production: accounts of every provider, odoo-bin neutralize, then every door
# (--test-tags cgsms_neutralized_copy). CGSMS_INTEGRATOR_KEEP=1 keeps the database and the
# virtualenv.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
pg_env

wheels=$CGSMS_VAR/integrator-wheels/$ODOO_SERIES
scratch=$CGSMS_VAR/integrator-venv$CGSMS_SERIES_SUFFIX
db=cgsms_integrator$CGSMS_SERIES_SUFFIX
log_file=$CGSMS_VAR/log/integrator-$ODOO_SERIES.log
http_port=${CGSMS_TEST_HTTP_PORT:-$((8169 + 10 * (${ODOO_SERIES%%.*} - 18)))}
tags=${CGSMS_INTEGRATOR_TAGS:-/cgsms:TestNeutralize,/cgsms:TestMessageSend,/cgsms:TestDeliveryReports,/cgsms_repairs:TestRepairSms,/sms:TestSMSComposerComment,/test_mail_sms:TestSMSPost}
fail() { log "integrator run: $*"; echo "integrator: 0 passed, 1 failed ($*)"; exit 1; }
mkdir -p "$CGSMS_VAR/log"
rm -rf "$wheels" "$scratch"
CGSMS_WHEEL_DIR=$CGSMS_VAR/integrator-wheels bash "$CGSMS_ROOT/scripts/wheels.sh" "$ODOO_SERIES" \
  || fail "wheels.sh failed"
# built from a copy: setuptools writes its build/ and egg-info beside the sources
cp -r "$CGSMS_ROOT/tests/fake_gateway" "$wheels/fake_gateway-src"
rm -rf "$wheels/fake_gateway-src/build" "$wheels"/fake_gateway-src/*.egg-info "$wheels"/fake_gateway-src/__pycache__
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$wheels" \
  "$wheels/fake_gateway-src" > "$CGSMS_VAR/log/integrator-build-$ODOO_SERIES.log" 2>&1 \
  || fail "the cgsms-fake-gateway wheel did not build (see $CGSMS_VAR/log/integrator-build-$ODOO_SERIES.log)"
rm -rf "$wheels/fake_gateway-src"
"$PY" -m venv --without-pip "$scratch" || fail "no scratch virtualenv"
odoo_site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
scratch_site=$("$scratch/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Odoo installed (its tree and its requirements), as in the integrator's own virtualenv.
printf '%s\n%s\n' "$ODOO_SRC" "$odoo_site" > "$scratch_site/odoo-venv.pth"
"$PY" -m pip --python "$scratch/bin/python" install --quiet --no-index --find-links "$wheels" \
  odoo-addon-cgsms odoo-addon-cgsms_repairs cgsms-fake-gateway 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory"
[ "${PIPESTATUS[0]}" = 0 ] || fail "pip install of the wheels failed"
# Nothing of the repository may be what the tests import.
"$scratch/bin/python" - "$CGSMS_ROOT" <<'PY' || fail "the scratch virtualenv sees the repository"
import sys
from pathlib import Path

import fake_gateway
from odoo.modules import module

root = Path(sys.argv[1]).resolve()
source = (root / "addons", root / "tests")
for name, path in (
    ("fake_gateway", Path(fake_gateway.__file__)),
    ("cgsms", Path(module.get_module_path("cgsms"))),
    ("cgsms_repairs", Path(module.get_module_path("cgsms_repairs"))),
):
    assert not any(path.resolve().is_relative_to(d) for d in source), f"{name} is not installed: {path}"
PY

odoo() { # odoo-bin of the scratch virtualenv, plain, with the database's connection
  # shellcheck disable=SC2046
  (cd "$scratch" && env -u PYTHONPATH "$scratch/bin/python" "$ODOO_SRC/odoo-bin" "$@" \
    $(odoo_db_args) -d "$db")
}
passed=0 failed=0
count() { # $1 log: adds Odoo's own summary ("N failed, N error(s) of N tests") to the counts
  local summary nfail nerr ntests bad
  summary=$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$1" | tail -n 1)
  if [ -z "$summary" ]; then
    log "integrator run: no test ran (see $1)"; failed=$((failed + 1)); return
  fi
  read -r nfail _ nerr _ _ ntests _ <<<"$summary"
  bad=$((nfail + nerr))
  if grep -qE ' (ERROR|CRITICAL) ' "$1"; then
    log "integrator run: errors in the log (see $1)"
    grep -E ' (ERROR|CRITICAL) ' "$1" | head -n 20 >&2
    [ "$bad" -gt 0 ] || bad=1
  fi
  log "integrator run: $summary ($1)"
  passed=$((passed + ntests - nfail - nerr)); failed=$((failed + bad))
}

dropdb --if-exists "$db" >/dev/null 2>&1 || true
log "Integrator run on Odoo $ODOO_SERIES: odoo-bin --test-enable --test-tags $tags (log: $log_file)"
# shellcheck disable=SC2046
odoo --addons-path="$ODOO_SRC/addons" -i cgsms,cgsms_repairs,test_mail_sms --test-enable \
  --test-tags "$tags" --stop-after-init --http-port="$http_port" --data-dir="$scratch/data" \
  $(odoo_demo_args with) --max-cron-threads=0 --log-handler=werkzeug:WARNING > "$log_file" 2>&1 \
  || failed=$((failed + 1))
count "$log_file"
if grep -q 'pip install cgsms-fake-gateway' "$log_file"; then
  log "integrator run: tests skipped for want of the fake gateway, which is installed"; failed=$((failed + 1))
fi

# Without the test package (an integrator who did not install it): the registry loads, our
# tests that need the gateway are skipped with the reason, the others pass. (Post-install
# tests only: on a database already installed, 19.0 runs at-install tests too, and Odoo's own
# fail there for reasons of their own.)
log "Without cgsms-fake-gateway: the registry loads, the tests that need it are skipped"
bare_log=$CGSMS_VAR/log/integrator-bare-$ODOO_SERIES.log
"$PY" -m pip --python "$scratch/bin/python" uninstall --quiet --yes cgsms-fake-gateway > "$bare_log" 2>&1
odoo --addons-path="$ODOO_SRC/addons" --test-enable --test-tags /cgsms:TestMessageSend,/cgsms_repairs:TestRepairDemo \
  --stop-after-init --http-port="$http_port" --data-dir="$scratch/data" --max-cron-threads=0 \
  --log-handler=werkzeug:WARNING >> "$bare_log" 2>&1
if grep -qE '0 failed, 0 error\(s\) of [1-9][0-9]* tests' "$bare_log" && grep -q 'pip install cgsms-fake-gateway' "$bare_log" \
  && ! grep -qE ' (ERROR|CRITICAL) ' "$bare_log"; then
  passed=$((passed + 1)); log "integrator run: without the test package, skipped with the reason"
else
  failed=$((failed + 1)); log "integrator run: without the test package (see $bare_log)"
fi
"$PY" -m pip --python "$scratch/bin/python" install --quiet --no-index --find-links "$wheels" \
  cgsms-fake-gateway >> "$bare_log" 2>&1 || fail "pip install cgsms-fake-gateway failed"

# A copy of production: accounts of every provider, then odoo-bin neutralize, then every door.
log "Neutralization: accounts of every provider, odoo-bin neutralize, then TestNeutralizedCopy"
neutral_log=$CGSMS_VAR/log/integrator-neutralized-$ODOO_SERIES.log
{
  odoo shell --addons-path="$ODOO_SRC/addons" --data-dir="$scratch/data" --no-http <<'PY'
for provider in ("sandbox", "lusosms", "vonage", "twilio"):
    account = env["cgsms.account"].create(
        {
            "company_id": env.company.id,
            "provider": provider,
            "sender": "CgSMS",
            "username": f"live-{provider}",
            "password": "live-secret",
            "base_url": "http://127.0.0.1:9",
        }
    )
    env["cgsms.credit.line"].create({"account_id": account.id, "kind": "topup", "amount": 50})
env.cr.commit()
PY
  odoo neutralize --addons-path="$ODOO_SRC/addons" \
    && odoo --addons-path="$ODOO_SRC/addons" --test-enable --test-tags cgsms_neutralized_copy \
      --stop-after-init --http-port="$http_port" --data-dir="$scratch/data" --max-cron-threads=0 \
      --log-handler=werkzeug:WARNING
} > "$neutral_log" 2>&1 || failed=$((failed + 1))
count "$neutral_log"
grep -q "Neutralization finished" "$neutral_log" || { log "odoo-bin neutralize did not finish"; failed=$((failed + 1)); }

[ -n "${CGSMS_INTEGRATOR_KEEP:-}" ] || { dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$scratch"; }
echo "integrator: $passed passed, $failed failed"
[ "$failed" = 0 ]
