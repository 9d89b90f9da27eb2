#!/usr/bin/env bash
# Checks the pip packaging of the addons on ODOO_SERIES, in seconds: builds the series' wheels
# (scripts/wheels.sh), installs odoo-addon-cgsms into a scratch virtualenv that sees Odoo and
# its requirements (as a virtualenv where Odoo is pip-installed would), and asks Odoo, without
# an addons path, where cgsms is, what its version is and that its data/neutralize.sql came
# along. Prints "wheel: 1 passed, 0 failed" (or failed) for scripts/test.sh.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

wheels=$CGSMS_VAR/wheels
scratch=$CGSMS_VAR/wheel-venv$CGSMS_SERIES_SUFFIX
fail() { log "wheel check: $*"; echo "wheel: 0 passed, 1 failed ($*)"; exit 1; }
rm -rf "$wheels/$ODOO_SERIES" "$scratch"
CGSMS_WHEEL_DIR=$wheels bash "$CGSMS_ROOT/scripts/wheels.sh" "$ODOO_SERIES" || fail "wheels.sh failed"
"$PY" -m venv --without-pip "$scratch" || fail "no scratch virtualenv"
odoo_site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
scratch_site=$("$scratch/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Odoo's tree and the Odoo virtualenv's packages (Odoo's requirements, the "odoo"
# distribution setup.sh records, phonenumbers, requests) after the scratch's own.
printf '%s\n%s\n' "$ODOO_SRC" "$odoo_site" > "$scratch_site/odoo-venv.pth"
"$PY" -m pip --python "$scratch/bin/python" install --quiet --no-index \
  --find-links "$wheels/$ODOO_SERIES" odoo-addon-cgsms 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory"
[ "${PIPESTATUS[0]}" = 0 ] || fail "pip install odoo-addon-cgsms failed"
"$scratch/bin/python" - "$scratch_site" "$ODOO_SERIES" <<'PY' || fail "Odoo does not find cgsms"
import sys
from importlib.metadata import requires, version
from pathlib import Path

from odoo.modules import module

site, series = Path(sys.argv[1]).resolve(), sys.argv[2]
path = Path(module.get_module_path("cgsms")).resolve()
manifest = module.get_manifest("cgsms")
deps = {r.split(";")[0].split("=")[0].split(">")[0].strip() for r in requires("odoo-addon-cgsms")}
assert path.is_relative_to(site), f"cgsms found at {path}, not in the wheel"
assert manifest["version"].startswith(series + "."), manifest["version"]
assert {"phonenumbers", "requests", "urllib3"} <= deps, deps
# what odoo-bin neutralize runs for the addon (Odoo finds it through the addon's own path)
assert (path / "data" / "neutralize.sql").is_file(), "data/neutralize.sql is not in the wheel"
print(f"odoo-addon-cgsms {version('odoo-addon-cgsms')}: Odoo {series} finds cgsms "
      f"{manifest['version']} at {path}; requires {', '.join(sorted(deps))}")
PY
echo "wheel: 1 passed, 0 failed"
