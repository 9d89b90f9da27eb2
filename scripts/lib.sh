# Shared settings for the project's scripts. Sourced, not executed.
# shellcheck shell=bash
CGSMS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CGSMS_ROOT
ODOO_SRC=${ODOO_SRC:-$HOME/.cache/cgsms/odoo-18.0}
export ODOO_SRC
CGSMS_VENV=${CGSMS_VENV:-$CGSMS_ROOT/.venv}
CGSMS_VAR=${CGSMS_VAR:-$CGSMS_ROOT/.var}
PY=$CGSMS_VENV/bin/python
# Each checkout gets its own cluster port, so two checkouts never fight over one.
# (setup.sh moves to the next free port, remembered in .var/pgport, if that one is taken).
CGSMS_PGPORT_CHOSEN=${CGSMS_PGPORT:-}
cluster_port() {
  if [ -n "$CGSMS_PGPORT_CHOSEN" ]; then
    echo "$CGSMS_PGPORT_CHOSEN"
  elif [ -f "$CGSMS_VAR/pgport" ]; then
    cat "$CGSMS_VAR/pgport"
  else
    echo $((55400 + $(printf '%s' "$CGSMS_VAR" | cksum | cut -d' ' -f1) % 500))
  fi
}
CGSMS_PGPORT=$(cluster_port)
CGSMS_ADDONS="$CGSMS_ROOT/addons,$ODOO_SRC/addons,$ODOO_SRC/odoo/addons"
# OCA queue_job comes as a wheel (setup.sh installs it): its addon lands in the venv's
# odoo/addons, which Odoo finds through the addons path like any other.
for CGSMS_QUEUE_JOB_DIR in "$CGSMS_VENV"/lib/python3*/site-packages/odoo/addons; do
  if [ -f "$CGSMS_QUEUE_JOB_DIR/queue_job/__manifest__.py" ]; then
    CGSMS_ADDONS="$CGSMS_ADDONS,$CGSMS_QUEUE_JOB_DIR"
  fi
done

log() { printf '\033[1m[cgsms]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[cgsms] error:\033[0m %s\n' "$*" >&2; exit 1; }

# The Unix socket path of PostgreSQL is limited to ~107 bytes: keep it short.
pg_socket_dir() {
  local h
  h=$(printf '%s' "$CGSMS_VAR" | md5sum | cut -c1-8)
  printf '/tmp/cgsms-pg-%s' "$h"
}

# Exports PGHOST/PGPORT/PGUSER for the private cluster unless the user pointed
# us at an existing server.
pg_env() {
  if [ -n "${CGSMS_EXTERNAL_PG:-}" ] || { [ -n "${PGHOST:-}" ] && [ -z "${CGSMS_PRIVATE_PG:-}" ]; }; then
    export CGSMS_EXTERNAL_PG=1
    export PGPORT=${PGPORT:-5432}
    export PGUSER=${PGUSER:-$(id -un)}
    return
  fi
  export CGSMS_PRIVATE_PG=1
  PGHOST=$(pg_socket_dir)
  export PGHOST
  CGSMS_PGPORT=$(cluster_port)
  export PGPORT=$CGSMS_PGPORT
  export PGUSER=odoo
}

odoo_db_args() {
  printf -- '--db_host=%s --db_port=%s --db_user=%s' "$PGHOST" "$PGPORT" "$PGUSER"
  if [ -n "${PGPASSWORD:-}" ]; then printf -- ' --db_password=%s' "$PGPASSWORD"; fi
}
