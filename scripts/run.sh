#!/usr/bin/env bash
# Serves Odoo with CgSMS on http://localhost:8069 (CGSMS_HTTP_PORT to change it), in English
# and Portuguese, with the demo data of a Portuguese business (scripts/demo_db.sh; CGSMS_DB
# names the database) and the sandbox provider configured against the project's
# fake SMS gateway (started here on 127.0.0.1:8070, CGSMS_GATEWAY_PORT to change it), so that
# sending, credits and delivery reports can be tried without a provider account.
# ODOO_SERIES=19.0 serves it on Odoo 19.0 (database 'cgsms_19'); 18.0 is the default.
# It listens on 127.0.0.1 only (the demo logs in as admin / admin): CGSMS_HTTP_INTERFACE=0.0.0.0
# (or an address of this machine) opens it to the network.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

bash "$here/setup.sh"
pg_env
db=${CGSMS_DB:-cgsms$CGSMS_SERIES_SUFFIX}
http_port=${CGSMS_HTTP_PORT:-8069}
http_interface=${CGSMS_HTTP_INTERFACE:-127.0.0.1}
gw_port=${CGSMS_GATEWAY_PORT:-8070}
mkdir -p "$CGSMS_VAR/log"

"$PY" "$CGSMS_ROOT/scripts/fake_gateway.py" --port "$gw_port" --auto-deliver \
  >"$CGSMS_VAR/log/fake_gateway.log" 2>&1 &
gw_pid=$!
trap 'kill $gw_pid 2>/dev/null || true' EXIT

# shellcheck disable=SC2046
odoo_args=(--addons-path="$CGSMS_ADDONS" $(odoo_db_args) -d "$db" --data-dir="$CGSMS_VAR/filestore$CGSMS_SERIES_SUFFIX")
if ! psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  log "Creating database '$db' (Odoo $ODOO_SERIES): a Portuguese business (EUR) with CgSMS, repairs, invoicing, demo data, English and Portuguese"
  bash "$here/demo_db.sh" "$db"
  # the fake gateway (tests/fake_gateway) is a test and demo tool outside the addons
  PYTHONPATH="$CGSMS_ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" \
    "$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" --no-http --log-level=warn <<PY
account = env["cgsms.account"].search([("company_id", "=", env.company.id)], limit=1)
# the fake gateway signs its delivery reports with its own secret: the account must hold it
from fake_gateway import SANDBOX_TOKEN, SANDBOX_USERNAME, SANDBOX_WEBHOOK_SECRET
vals = {"provider": "sandbox", "sender": "CgSMS", "username": SANDBOX_USERNAME, "password": SANDBOX_TOKEN,
        "webhook_secret": SANDBOX_WEBHOOK_SECRET,
        "base_url": "http://127.0.0.1:$gw_port", "active": True}
account = account.write(vals) if account else env["cgsms.account"].create(vals)
account = env["cgsms.account"].search([("company_id", "=", env.company.id)], limit=1)
env["ir.config_parameter"].set_param("web.base.url", "http://localhost:$http_port")
env["ir.config_parameter"].set_param("web.base.url.freeze", "True")
# in the language of the demo's user (Portuguese): the pack's name, the connection status
lang = env.ref("base.user_admin").lang
# and the shop's first month of SMS (the pack bought, campaigns, daily SMS, replies), which
# the reports (SMS > Reporting) show
if not account.credit_line_ids:
    env["cgsms.account"].with_context(lang=lang)._cgsms_demo_first_month(account)
# the fake gateway runs already: the account shows "Connected", with its balance
account.with_context(lang=lang).action_test_connection()
env.cr.commit()
PY
fi
log "Odoo $ODOO_SERIES with CgSMS: http://localhost:$http_port  (login: admin, password: admin)"
log "Listening on $http_interface only (CGSMS_HTTP_INTERFACE=0.0.0.0 to open it to the network)"
log "Fake SMS gateway: http://127.0.0.1:$gw_port/_control/messages"
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" --http-interface="$http_interface" \
  --http-port="$http_port" --db-filter="^${db}\$" "$@"
