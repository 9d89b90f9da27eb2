#!/usr/bin/env bash
# Prepares everything CgSMS needs to run and to be tested, idempotently:
#   1. an Odoo source tree of the series ODOO_SERIES (18.0 by default, or 19.0): ODOO_SRC, else
#      ODOO_SRC_18 / ODOO_SRC_19, else ~/.cache/cgsms/odoo-<series>, else a clone of upstream;
#   2. a virtualenv per series (.venv for 18.0, .venv-19.0 for 19.0, ignored by git) with that
#      series' Odoo requirements and ours (and the series' OCA queue_job);
#   3. a private PostgreSQL cluster (.var/pgdata, ignored) on its own port and socket,
#      unless PGHOST points at a server you already run.
# Re-running it only does what is missing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

ensure_odoo() {
  if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
    if [ -e "$ODOO_SRC" ] && [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]; then
      die "ODOO_SRC=$ODOO_SRC exists but is not an Odoo source tree (no odoo/release.py)."
    fi
    log "No Odoo source tree at $ODOO_SRC: trying to clone Odoo $ODOO_SERIES from upstream..."
    mkdir -p "$(dirname "$ODOO_SRC")"
    if ! timeout 900 git clone --quiet --depth 1 --branch "$ODOO_SERIES" \
        https://github.com/odoo/odoo.git "$ODOO_SRC.part" 2>/dev/null; then
      rm -rf "$ODOO_SRC.part"
      local var=ODOO_SRC_${ODOO_SERIES%.0}
      die "Could not find or download Odoo $ODOO_SERIES. Put an Odoo $ODOO_SERIES Community source tree at
  $HOME/.cache/cgsms/odoo-$ODOO_SERIES
or point $var (or ODOO_SRC) at one, e.g.:
  ODOO_SERIES=$ODOO_SERIES $var=/path/to/odoo-$ODOO_SERIES scripts/setup.sh"
    fi
    mv "$ODOO_SRC.part" "$ODOO_SRC"
  fi
  local series
  series=$(odoo_tree_series "$ODOO_SRC")
  [ "$series" = "$ODOO_SERIES" ] \
    || die "ODOO_SRC=$ODOO_SRC is Odoo $series, not $ODOO_SERIES: set ODOO_SERIES=$series or point ODOO_SRC at an Odoo $ODOO_SERIES tree."
  log "Odoo $ODOO_SERIES source: $ODOO_SRC"
}

# Odoo's pins for Python 3.11 include old sdists that no longer build with current
# setuptools; its pins for Python 3.12 install as wheels on 3.10-3.12 and work.
odoo_requirements() {
  "$PY" - "$ODOO_SRC/requirements.txt" <<'PY'
import sys
from pip._vendor.packaging.requirements import Requirement
env = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": sys.platform,
       "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}
# Not needed by CgSMS and its tests, and they need system headers to build.
skip = {"python-ldap", "pypiwin32", "rl-renderpm"}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    if req.name.lower() in skip or (req.marker and not req.marker.evaluate(env)):
        continue
    name = "psycopg2-binary" if req.name.lower() == "psycopg2" else req.name
    print(f"{name}{req.specifier}")
PY
}

ensure_venv() {
  if [ ! -x "$PY" ]; then
    log "Creating virtualenv $CGSMS_VENV for Odoo $ODOO_SERIES"
    python3 -m venv "$CGSMS_VENV"
    echo "$ODOO_SERIES" > "$CGSMS_VENV/.cgsms-series"
  fi
  # A virtualenv holds the requirements of one series: never install another's into it.
  # (Virtualenvs made before 19.0 was supported carry no mark: they are 18.0's.)
  local venv_series=18.0
  [ ! -f "$CGSMS_VENV/.cgsms-series" ] || venv_series=$(cat "$CGSMS_VENV/.cgsms-series")
  [ "$venv_series" = "$ODOO_SERIES" ] \
    || die "CGSMS_VENV=$CGSMS_VENV is the virtualenv of Odoo $venv_series, not $ODOO_SERIES: unset CGSMS_VENV or set CGSMS_VENV_${ODOO_SERIES%.0}."
  mkdir -p "$CGSMS_VAR"
  local reqs stamp want
  reqs=$CGSMS_VAR/requirements-odoo-$ODOO_SERIES.txt
  odoo_requirements > "$reqs.new"
  mv "$reqs.new" "$reqs"
  want=$(cat "$reqs" "$CGSMS_ROOT/requirements.txt" | md5sum | cut -d' ' -f1)
  stamp=$CGSMS_VENV/.cgsms-installed
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "Installing Python requirements into $CGSMS_VENV (Odoo's and CgSMS's)"
    "$PY" -m pip install --quiet --upgrade pip wheel 'setuptools<81'
    "$PY" -m pip install --quiet -r "$reqs" -r "$CGSMS_ROOT/requirements.txt" 2>&1 \
      | grep -v "is ignored: it is neither a file nor a directory" || true
  fi
  # Odoo is used from its source tree, not installed: a .pth puts it on the path.
  local site
  site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$ODOO_SRC" > "$site/cgsms-odoo.pth"
  register_odoo "$site"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$PY" -c "import odoo, psycopg2, phonenumbers, requests, openapi_core" \
      || die "Python requirements did not install (see the messages above)"
    echo "$want" > "$stamp"
  fi
}

# Odoo runs from its source tree, yet addon wheels (OCA's, ours: pip install ./addons/cgsms)
# require the "odoo" distribution of their series: the venv records the tree as one, as
# `pip install -e <odoo tree>` would, so that pip resolves them.
register_odoo() { # site-packages directory
  "$PY" - "$1" "$ODOO_SRC" <<'PY'
import runpy, sys
from pathlib import Path
site, src = Path(sys.argv[1]), sys.argv[2]
version = runpy.run_path(src + "/odoo/release.py")["version"].split("+")[0]
info = site / f"odoo-{version}.dist-info"
if not info.is_dir():
    for old in site.glob("odoo-*.dist-info"):
        if (old / "INSTALLER").is_file() and (old / "INSTALLER").read_text().strip() == "cgsms":
            for path in old.iterdir():
                path.unlink()
            old.rmdir()
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: odoo\nVersion: {version}\n")
    (info / "INSTALLER").write_text("cgsms\n")
    (info / "RECORD").write_text(
        "".join(f"{info.name}/{name},,\n" for name in ("METADATA", "INSTALLER", "RECORD"))
    )
PY
}

# OCA queue_job (scale-out of the SMS queue, addon cgsms_queue_job) is published as a wheel per
# series that depends on an "odoo" distribution the index does not have, hence --no-deps and
# its own Python dependencies installed beside it. Its 18.0 releases after 18.0.1.7.0 use
# `api.private`, which 18.0 builds before 2025 do not have: with such a tree the newest
# release that works with it is taken.
queue_job_installed() { # spec, then its dependencies: whether they are all installed
  "$PY" - "$@" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
from pip._vendor.packaging.requirements import Requirement
req = Requirement(sys.argv[1])
try:
    for dep in sys.argv[2:]:
        version(dep)
    sys.exit(0 if req.specifier.contains(version(req.name), prereleases=True) else 1)
except PackageNotFoundError:
    sys.exit(1)
PY
}

ensure_queue_job() {
  local spec="odoo-addon-queue_job>=$ODOO_SERIES,<${ODOO_SERIES%.0}.1"
  local deps=(openupgradelib cssselect) # what its newer releases import
  if [ "$ODOO_SERIES" = 18.0 ] && ! grep -q "^def private" "$ODOO_SRC/odoo/api.py"; then
    spec="odoo-addon-queue_job>=18.0,<18.0.1.7.1"
  fi
  queue_job_installed "$spec" "${deps[@]}" && return 0
  log "Installing OCA queue_job ($spec, ${deps[*]}) into $CGSMS_VENV"
  # (pip then says the "odoo" distribution is missing: Odoo runs from its source tree.)
  { "$PY" -m pip install --quiet --no-deps "$spec" && "$PY" -m pip install --quiet "${deps[@]}"; } 2>&1 \
    | grep -vE "is ignored: it is neither a file nor a directory|dependency (resolver|conflicts)|requires odoo==" \
    || true
  queue_job_installed "$spec" "${deps[@]}" \
    || die "Could not install $spec (pip install --no-deps '$spec'; pip install ${deps[*]})"
}

# pytest-odoo (requirements-pytest-odoo.txt says why it is not in the virtualenv itself).
ensure_pytest_odoo() {
  local target=$CGSMS_VAR/pytest-odoo-$ODOO_SERIES want
  want=$(md5sum < "$CGSMS_ROOT/requirements-pytest-odoo.txt" | cut -d' ' -f1)
  [ "$(cat "$target/.cgsms-installed" 2>/dev/null)" != "$want" ] || return 0
  log "Installing pytest-odoo into $target"
  rm -rf "$target"
  "$PY" -m pip install --quiet --no-deps --target "$target" \
    -r "$CGSMS_ROOT/requirements-pytest-odoo.txt" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  [ -f "$target/pytest_odoo.py" ] || die "Could not install pytest-odoo into $target"
  echo "$want" > "$target/.cgsms-installed"
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do :; done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; elif [ -x "$d/initdb" ]; then echo "$d"; else
    die "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL 13+ (Debian: apt-get install postgresql)."
  fi
}

ensure_postgres() {
  pg_env
  if [ -n "${CGSMS_EXTERNAL_PG:-}" ]; then
    log "Using the PostgreSQL server at PGHOST=$PGHOST PGPORT=$PGPORT"
    return
  fi
  local bin datadir sock as=() owner
  bin=$(pg_bin)
  datadir=$CGSMS_VAR/pgdata
  sock=$(pg_socket_dir)
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
    owner=postgres
    id "$owner" >/dev/null 2>&1 || owner=nobody
    as=(runuser -u "$owner" --)
    if ! "${as[@]}" test -x "$CGSMS_VAR"; then
      datadir=/var/tmp/cgsms-pgdata-$(printf '%s' "$CGSMS_VAR" | md5sum | cut -c1-8)
    fi
  fi
  mkdir -p "$sock"
  if [ ! -f "$datadir/PG_VERSION" ]; then
    log "Creating a private PostgreSQL cluster in $datadir"
    rm -rf "$datadir"
    mkdir -p "$datadir"
    if [ ${#as[@]} -gt 0 ]; then chown "$owner" "$datadir" "$sock"; fi
    "${as[@]}" "$bin/initdb" --pgdata="$datadir" --username=odoo --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$CGSMS_VAR/initdb.log" 2>&1 \
      || { cat "$CGSMS_VAR/initdb.log" >&2; die "initdb failed"; }
  fi
  if [ ${#as[@]} -gt 0 ]; then chown "$owner" "$sock"; fi
  if "${as[@]}" "$bin/pg_ctl" --pgdata="$datadir" status >/dev/null 2>&1 \
      && [ "$(sed -n 4p "$datadir/postmaster.pid" 2>/dev/null)" != "$PGPORT" ]; then
    log "Restarting PostgreSQL on port $PGPORT"
    "${as[@]}" "$bin/pg_ctl" --pgdata="$datadir" --wait --mode=fast stop >/dev/null
  fi
  if ! "${as[@]}" "$bin/pg_ctl" --pgdata="$datadir" status >/dev/null 2>&1; then
    # The port may be taken (another server, or a client's ephemeral port): take the next free.
    local tries=0
    while ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" \
        "$PGPORT" 2>/dev/null; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || die "No free port for PostgreSQL near $CGSMS_PGPORT: set CGSMS_PGPORT."
      PGPORT=$((PGPORT + 1))
    done
    export PGPORT
    echo "$PGPORT" > "$CGSMS_VAR/pgport"
    log "Starting PostgreSQL on port $PGPORT (socket $sock)"
    "${as[@]}" "$bin/pg_ctl" --pgdata="$datadir" --wait --timeout=60 \
      --log="$datadir/server.log" \
      -o "-p $PGPORT -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -n 30 "$datadir/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  echo "$datadir" > "$CGSMS_VAR/pgdata.path"
}

# Browser tours run in headless Chromium; Odoo finds it on the PATH.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 \
      || command -v chromium-browser >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing Chromium for the browser tests (apt-get install chromium)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >"$CGSMS_VAR/apt-chromium.log" 2>&1 || die "Could not install Chromium (see $CGSMS_VAR/apt-chromium.log)"
  else
    die "Chromium is needed for the browser tests: install it (Debian: apt-get install chromium)."
  fi
}

ensure_odoo
ensure_venv
ensure_queue_job
ensure_pytest_odoo
ensure_postgres
ensure_chromium
log "Setup complete."
