#!/usr/bin/env bash
# Upgrade test on ODOO_SERIES: installs cgsms and cgsms_repairs of the previous release (the
# commit named in .ci/previous-release, taken from git history into a scratch folder), makes
# real data with it (tests/upgrade/steps.py: accounts with credentials, credits, SMS sent
# through the fake gateway and refused, groups, templates, replies, a repair's message),
# upgrades to the working tree with -u, and checks that every record and field it had is
# still there and unchanged (the balance, every credit line, every history line and its
# state, the accounts, their credentials and the primary one, ...); that an account without
# destinations got its company's country and those it sent to; that it sends again; and that
# a second upgrade changes nothing. Then uninstalls cgsms_repairs, cgsms_queue_job (with OCA
# queue_job) and cgsms with an SMS still queued (cancelled, with a note on its contact; nothing
# of ours left; Odoo's own SMS path sends again) and installs them again (they send).
# Prints "upgrade: N passed, N failed" for scripts/test.sh.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
pg_env

# CGSMS_UPGRADE_FROM=<commit> starts from another release (e.g. dc405d2, the last one before
# 1.1.0, which has replies and several accounts per company).
prev=${CGSMS_UPGRADE_FROM:-$(grep -vE '^\s*(#|$)' "$CGSMS_ROOT/.ci/previous-release" | head -n 1)}
work=$CGSMS_VAR/upgrade$CGSMS_SERIES_SUFFIX
db=cgsms_upgrade$CGSMS_SERIES_SUFFIX
http_port=${CGSMS_TEST_HTTP_PORT:-$((8169 + 10 * (${ODOO_SERIES%%.*} - 18)))}
gw_port=$((http_port + 5))
log_dir=$CGSMS_VAR/log/upgrade-$ODOO_SERIES
passed=0 failed=0
fail() { log "upgrade test: $*"; failed=$((failed + 1)); }
ok() { log "upgrade test: $*"; passed=$((passed + 1)); }
finish() {
  [ -z "${gw_pid:-}" ] || kill "$gw_pid" 2>/dev/null
  [ -n "${CGSMS_KEEP_DB:-}" ] || dropdb --if-exists "$db" >/dev/null 2>&1
  echo "upgrade: $passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}
rm -rf "$work" "$log_dir"
mkdir -p "$work/previous" "$log_dir"
git -C "$CGSMS_ROOT" archive "$prev" addons | tar -x -C "$work/previous" \
  || { fail "commit $prev is not in this clone's history (fetch it)"; finish; }
log "Upgrade test on Odoo $ODOO_SERIES: from ${prev:0:7} (.ci/previous-release) to the working tree (logs: $log_dir)"

# OCA queue_job when setup.sh installed it (scripts/lib.sh): cgsms_queue_job comes along.
qj_path= qj_module=
if [ -n "$CGSMS_QUEUE_JOB" ]; then qj_path=,${CGSMS_ADDONS##*,} qj_module=,queue_job,cgsms_queue_job; fi
odoo() { # $1 the addons folder of the release, $2 the log's name, then odoo-bin's arguments
  local addons=$1 name=$2
  shift 2
  # shellcheck disable=SC2046
  "$PY" "$ODOO_SRC/odoo-bin" "$@" \
    --addons-path="$addons,$ODOO_SRC/addons,$ODOO_SRC/odoo/addons$qj_path" \
    $(odoo_db_args) -d "$db" --data-dir="$work/data" --http-port="$http_port" \
    --max-cron-threads=0 >> "$log_dir/$name.log" 2>&1
}
step() { # $1 addons folder, $2 step of tests/upgrade/steps.py, $3 snapshot file (or "")
  CGSMS_UPGRADE_STEP=$2 CGSMS_UPGRADE_OUT=$3 CGSMS_GATEWAY_URL=http://127.0.0.1:$gw_port \
    CGSMS_TESTS_DIR=$CGSMS_ROOT/tests odoo "$1" "$2" shell --no-http \
    < "$CGSMS_ROOT/tests/upgrade/steps.py"
}
clean_log() { # $1 log name: Odoo logged no error (but the refused deletion of a contact that
  # documents still use, which Odoo logs and keeps: the demo's customers with posted invoices)
  ! grep -E ' (ERROR|CRITICAL) |^Traceback' "$log_dir/$1.log" \
    | grep -vq "odoo.sql_db: bad query: b'DELETE FROM \"res_partner\""
}

"$PY" "$CGSMS_ROOT/scripts/fake_gateway.py" --port "$gw_port" > "$log_dir/gateway.log" 2>&1 &
gw_pid=$!
dropdb --if-exists "$db" >/dev/null 2>&1
# shellcheck disable=SC2046
odoo "$work/previous/addons" install -i "cgsms,cgsms_repairs$qj_module" --stop-after-init \
  $(odoo_demo_args with) && clean_log install || { fail "installing ${prev:0:7} failed"; finish; }
step "$work/previous/addons" make "" && clean_log make \
  || { fail "making data with ${prev:0:7} failed"; finish; }
grep -E '^made: ' "$log_dir/make.log" >&2
step "$work/previous/addons" snapshot "$work/before.json" || { fail "snapshot failed"; finish; }

odoo "$CGSMS_ROOT/addons" upgrade -u cgsms,cgsms_repairs --stop-after-init && clean_log upgrade \
  && ok "-u cgsms,cgsms_repairs from ${prev:0:7}" || fail "the upgrade failed (see $log_dir/upgrade.log)"
step "$CGSMS_ROOT/addons" snapshot "$work/after.json" || fail "snapshot after the upgrade failed"
compare() { # $1 $2 snapshots, $3 "kept" (every record and field of $1 unchanged in $2) or "same"
  "$PY" - "$@" <<'PY'
import json, sys

before, after, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
# What the upgrade sets on purpose: destinations of the accounts that had none.
CHANGED = {("cgsms.account", "allowed_country_ids")} if mode == "kept" else set()
problems = []
for model, rows in before.items():
    if model not in after:
        problems.append(f"{model}: gone")
        continue
    for rid, row in rows.items() if isinstance(rows, dict) else ():
        new = after[model].get(rid) if isinstance(after[model], dict) else None
        if new is None:
            problems.append(f"{model} {rid}: gone")
            continue
        if not isinstance(row, dict):
            if row != new:
                problems.append(f"{model} {rid}: {row!r} -> {new!r}")
            continue
        for field, value in row.items():
            if (model, field) not in CHANGED and new.get(field) != value:
                problems.append(f"{model} {rid} {field}: {value!r} -> {new.get(field)!r}")
    if mode == "same" and after[model] != rows:
        extra = set(after[model]) - set(rows) if isinstance(rows, dict) else ()
        problems.extend(f"{model} {rid}: new" for rid in sorted(extra))
print("\n".join(problems[:40]) or f"{sum(len(r) for r in before.values())} records compared")
sys.exit(1 if problems else 0)
PY
}
compare "$work/before.json" "$work/after.json" kept >&2 \
  && ok "every record of ${prev:0:7} kept, field by field" || fail "records lost or changed by the upgrade"
"$PY" - "$work/before.json" "$work/after.json" <<'PY' >&2 && ok "destinations set where there were none" || fail "destinations"
import json, sys

before, after = (json.load(open(p))["cgsms.account"] for p in sys.argv[1:])
for rid, row in before.items():
    if not row.get("allowed_country_ids"):
        assert after[rid]["allowed_country_ids"], f"account {rid} still has no destinations"
        print(f"account {rid}: destinations {after[rid]['allowed_country_ids']}")
PY
psql -Atc "SELECT count(*) FROM mail_message WHERE model = 'cgsms.account' AND body LIKE '%had no destinations%'" "$db" \
  | grep -qE '^[1-9]' && ok "the SMS managers are told on the account" || fail "no note about the destinations"
step "$CGSMS_ROOT/addons" send "" && clean_log send && ok "sends after the upgrade" \
  || fail "sending after the upgrade failed (see $log_dir/send.log)"
step "$CGSMS_ROOT/addons" snapshot "$work/sent.json" || fail "snapshot failed"
odoo "$CGSMS_ROOT/addons" upgrade-again -u cgsms,cgsms_repairs --stop-after-init \
  && clean_log upgrade-again || fail "the second upgrade failed"
step "$CGSMS_ROOT/addons" snapshot "$work/again.json" || fail "snapshot failed"
compare "$work/sent.json" "$work/again.json" same >&2 \
  && ok "a second upgrade changes nothing" || fail "the second upgrade changed records"

# Uninstall (cgsms_repairs, cgsms_queue_job, then cgsms) with an SMS still queued, then install
# again.
log "Uninstall and install again"
step "$CGSMS_ROOT/addons" queue "" || fail "queueing an SMS failed"
step "$CGSMS_ROOT/addons" uninstall "" && clean_log uninstall && ok "uninstall of cgsms_repairs, cgsms_queue_job and cgsms" \
  || fail "the uninstall failed (see $log_dir/uninstall.log)"
step "$CGSMS_ROOT/addons" after_uninstall "" && clean_log after_uninstall \
  && ok "nothing of CgSMS left, the queued SMS cancelled with a note, Odoo's SMS path sends" \
  || fail "after the uninstall (see $log_dir/after_uninstall.log)"
odoo "$CGSMS_ROOT/addons" reinstall -i "cgsms,cgsms_repairs$qj_module" --stop-after-init && clean_log reinstall \
  && step "$CGSMS_ROOT/addons" reinstalled "" && clean_log reinstalled && ok "installed again, it sends" \
  || fail "installing again failed (see $log_dir/reinstall.log, reinstalled.log)"
finish
