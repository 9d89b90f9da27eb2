#!/usr/bin/env bash
# Regenerates addons/<addon>/i18n/<addon>.pot from the code and merges it into pt.po
# (msgmerge keeps existing translations). Needs a database with both addons installed:
# CGSMS_DB (default cgsms, the one scripts/run.sh creates). cgsms_mass_mailing, which needs
# SMS Marketing, is left as it is when it is not installed there.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
bash "$here/setup.sh" >/dev/null
pg_env
db=${CGSMS_DB:-cgsms}
for addon in cgsms cgsms_repairs cgsms_queue_job cgsms_mass_mailing; do
  if [ "$addon" = cgsms_mass_mailing ]; then
    installed=$(psql -d "$db" -tAc "SELECT 1 FROM ir_module_module WHERE name = '$addon' AND state = 'installed'" 2>/dev/null || true)
    if [ "$installed" != 1 ]; then log "$addon: not installed in $db, skipped"; continue; fi
  fi
  pot=$CGSMS_ROOT/addons/$addon/i18n/$addon.pot
  mkdir -p "$(dirname "$pot")"
  # shellcheck disable=SC2046
  "$PY" "$ODOO_SRC/odoo-bin" --addons-path="$CGSMS_ADDONS" $(odoo_db_args) -d "$db" \
    -u "$addon" --i18n-export="$pot" --modules="$addon" --stop-after-init --log-level=warn
  po=$CGSMS_ROOT/addons/$addon/i18n/pt.po
  if [ -f "$po" ]; then
    msgmerge --quiet --update --backup=none --no-fuzzy-matching "$po" "$pot"
  else
    msginit --no-translator --locale=pt_PT.UTF-8 --input="$pot" --output-file="$po"
  fi
  log "$addon: $(msgfmt --statistics -o /dev/null "$po" 2>&1)"
done
