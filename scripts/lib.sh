# Shared settings for the project's scripts. Sourced, not executed.
# shellcheck shell=bash
CGSMS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CGSMS_ROOT
# The Odoo series: 18.0 (default) or 19.0. Each series has its own source tree
# (ODOO_SRC, else ODOO_SRC_18 / ODOO_SRC_19, else ~/.cache/cgsms/odoo-<series>) and its own
# virtualenv (CGSMS_VENV, else CGSMS_VENV_18 / CGSMS_VENV_19, else .venv / .venv-19.0).
# The series scripts/test.sh runs by default (ODOO_SERIES=<series> runs one alone).
CGSMS_SERIES_ALL="18.0 19.0"
ODOO_SERIES=${ODOO_SERIES:-18.0}
case "$ODOO_SERIES" in
  18.0)
    ODOO_SRC=${ODOO_SRC:-${ODOO_SRC_18:-$HOME/.cache/cgsms/odoo-18.0}}
    CGSMS_VENV=${CGSMS_VENV:-${CGSMS_VENV_18:-$CGSMS_ROOT/.venv}}
    # Names of databases and filestores of this series (18.0 keeps the historical ones).
    CGSMS_SERIES_SUFFIX=
    ;;
  19.0)
    ODOO_SRC=${ODOO_SRC:-${ODOO_SRC_19:-$HOME/.cache/cgsms/odoo-19.0}}
    CGSMS_VENV=${CGSMS_VENV:-${CGSMS_VENV_19:-$CGSMS_ROOT/.venv-19.0}}
    CGSMS_SERIES_SUFFIX=_19
    ;;
  *)
    printf '\033[1;31m[cgsms] error:\033[0m ODOO_SERIES=%s: CgSMS runs on Odoo 18.0 or 19.0.\n' \
      "$ODOO_SERIES" >&2
    exit 1
    ;;
esac
export ODOO_SERIES ODOO_SRC CGSMS_SERIES_SUFFIX
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
# odoo/addons, which Odoo finds through the addons path like any other. Called again once
# setup.sh has run (a fresh venv gets the wheel then).
CGSMS_QUEUE_JOB=
add_queue_job_addons() {
  local dir
  [ -z "$CGSMS_QUEUE_JOB" ] || return 0
  for dir in "$CGSMS_VENV"/lib/python3*/site-packages/odoo/addons; do
    if [ -f "$dir/queue_job/__manifest__.py" ]; then
      CGSMS_ADDONS="$CGSMS_ADDONS,$dir"
      CGSMS_QUEUE_JOB=1
    fi
  done
}
add_queue_job_addons

# The series of an Odoo source tree ("18.0", "19.0"), read from its odoo/release.py.
odoo_tree_series() {
  python3 - "$1" <<'PY'
import runpy, sys
print(runpy.run_path(sys.argv[1] + "/odoo/release.py")["serie"])
PY
}

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

# Odoo 18.0 installs demo data unless told not to; 19.0 only when told to.
odoo_demo_args() { # with|without
  case "$ODOO_SERIES:$1" in
    18.0:with) ;;
    18.0:without) printf -- '--without-demo=all' ;;
    *:with) printf -- '--with-demo' ;;
    *:without) printf -- '--without-demo' ;;
  esac
}

odoo_db_args() {
  printf -- '--db_host=%s --db_port=%s --db_user=%s' "$PGHOST" "$PGPORT" "$PGUSER"
  if [ -n "${PGPASSWORD:-}" ]; then printf -- ' --db_password=%s' "$PGPASSWORD"; fi
}
