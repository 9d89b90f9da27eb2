#!/usr/bin/env bash
# Builds the addons' wheels (OCA packaging: the whool build backend of each addon's
# pyproject.toml) for each Odoo series given (default: ODOO_SERIES, else 18.0) into
# dist/<series>/, e.g. dist/19.0/odoo_addon_cgsms-19.0.1.0.0-py3-none-any.whl:
#   scripts/wheels.sh 18.0 19.0
# One source tree serves both series, so the manifest's version ("1.0.0") has no series: each
# addon is copied (the files git knows) with the series put in front of its version, which is
# what Odoo itself does when it loads it, and built there. CGSMS_WHEEL_DIR changes dist/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || set -- "$ODOO_SERIES"
python3 -c "import whool" 2>/dev/null && builder=python3 || builder=$PY
"$builder" -c "import whool" 2>/dev/null \
  || die "whool is needed to build the wheels: pip install whool (scripts/setup.sh puts it in $CGSMS_VENV)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for series in "$@"; do
  case "$series" in 18.0 | 19.0) ;; *) die "No wheel for Odoo $series: 18.0 or 19.0." ;; esac
  out=${CGSMS_WHEEL_DIR:-$CGSMS_ROOT/dist}/$series
  mkdir -p "$out"
  for manifest in "$CGSMS_ROOT"/addons/*/__manifest__.py; do
    addon_dir=$(dirname "$manifest")
    addon=$(basename "$addon_dir")
    [ -f "$addon_dir/pyproject.toml" ] || continue
    copy=$work/$series/$addon
    mkdir -p "$copy"
    (cd "$addon_dir" && git ls-files -z --cached --others --exclude-standard . \
      | xargs -0 cp --parents -t "$copy")
    "$builder" - "$copy" "$series" <<'PY'
import ast, re, sys
from pathlib import Path
copy, series = Path(sys.argv[1]), sys.argv[2]
manifest = copy / "__manifest__.py"
text = manifest.read_text(encoding="utf-8")
version = ast.literal_eval(text)["version"]
if not version.startswith(series + "."):
    text = re.sub(r'("version":\s*")' + re.escape(version) + '"', rf'\g<1>{series}.{version}"', text)
    manifest.write_text(text, encoding="utf-8")
pyproject = copy / "pyproject.toml"
text = pyproject.read_text(encoding="utf-8")
text = re.sub(r'odoo_series_override = "[^"]*"', f'odoo_series_override = "{series}"', text)
# the addons it depends on, of the same series (odoo-addon-cgsms==19.0.*)
text = re.sub(r"(?m)^depends_override = .*\n", "", text)
pyproject.write_text(text, encoding="utf-8")
PY
    "$builder" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$out" "$copy" \
      2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
  done
  log "Odoo $series wheels in $out:"
  ls "$out" >&2
done
