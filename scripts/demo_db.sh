#!/usr/bin/env bash
# Creates the demo database of a Portuguese business: company in Portugal, euro, Portuguese
# chart of accounts, English and Portuguese active, admin in Portuguese, CgSMS and repairs with
# demo data. Usage: scripts/demo_db.sh DB  (the database must not exist yet).
#
# The company's country and currency are set before `account` is installed: once journal
# items exist Odoo no longer lets the currency change, and the chart of accounts (l10n_pt, in
# euro) is chosen from the company's country when `account` is installed (on 19.0, loaded
# right after: see below).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
pg_env
db=${1:?usage: demo_db.sh DB}
mkdir -p "$CGSMS_VAR/log"
# shellcheck disable=SC2046
odoo_args=(--addons-path="$CGSMS_ADDONS" $(odoo_db_args) -d "$db" --data-dir="$CGSMS_VAR/filestore$CGSMS_SERIES_SUFFIX"
  --no-http --max-cron-threads=0 --log-level=warn)

# shellcheck disable=SC2046
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" -i base --load-language=pt_PT $(odoo_demo_args with) \
  --stop-after-init
"$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" <<'PY'
portugal = env.ref("base.pt")
env["res.lang"]._activate_lang("en_US")
env["res.lang"]._activate_lang("pt_PT")
env.company.write(
    {
        "street": "Rua Augusta, 100",
        "country_id": portugal.id,
        "currency_id": env.ref("base.EUR").id,
        "city": "Lisboa",
        "zip": "1000-001",
        "phone": "+351 210 000 000",
    }
)
env.ref("base.EUR").active = True
env.ref("base.user_admin").write({"lang": "pt_PT", "tz": "Europe/Lisbon"})
env.cr.commit()
PY
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" -i account --stop-after-init
"$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" <<'PY'
# Odoo 19.0's account demo data puts its generic chart (in dollars) on the main company
# whatever its country: the Portuguese chart replaces it (with its demo entries, in euro)
# before any other module's demo data uses it. 18.0 already has it.
if env.company.chart_template != "pt":
    env["account.chart.template"].try_loading("pt", env.company, install_demo=True)
env.cr.commit()
PY
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" -i cgsms,cgsms_repairs --stop-after-init
"$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" <<'PY'
# Named after the modules' demo data (stock's renames the company).
env.company.name = "Loja Demo, Lda."
# Portuguese customers read their SMS (reminders, invoices) in Portuguese.
env["res.partner"].search([("country_id.code", "=", "PT")]).write({"lang": "pt_PT"})
env.cr.commit()
PY
