#!/usr/bin/env bash
# npm run scan [-- --config FILE|default ...]: synthesize the default configuration and every
# examples/*.yaml (or only the configs given) and scan the Terraform JSON with a pinned checkov
# (framework terraform_json).
# See help/security.md.
#
# Closing line: "scan: N passed, N failed, N skipped" (checks); exit 1 if a check
# failed after the waivers of scripts/checkov-skips.yaml, or if checkov could not
# parse a file or scanned nothing.
#
# Environment:
#   ACR_GATE_PYTHON        python used to create the virtualenv (default python3)
#   ACR_GATE_KEEP_WORK=1   keep the temporary work directory
#   ACR_GATE_SKIP_BUILD=1  do not run `npm run build` (dist/ must be current)
set -euo pipefail

CHECKOV_VERSION=3.3.30

ACR_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ACR_REPO_ROOT
ACR_LOG_TAG=scan
# shellcheck source=scripts/lib-providers.sh
source "$ACR_REPO_ROOT/scripts/lib-providers.sh"
# shellcheck source=scripts/lib-synth.sh
source "$ACR_REPO_ROOT/scripts/lib-synth.sh"
VENV="$ACR_REPO_ROOT/.venv-checkov"
SKIPS="$ACR_REPO_ROOT/scripts/checkov-skips.yaml"
cd "$ACR_REPO_ROOT"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --config)
      [[ $# -ge 2 ]] || acr_die "--config needs a config file or 'default'"
      acr_config_arg "$2"; shift 2 ;;
    *) acr_die "unknown argument $1 (usage: bash scripts/scan.sh [--config FILE|default ...])" ;;
  esac
done

command -v node >/dev/null || acr_die "node is not on PATH"

# --- 1. checkov in .venv-checkov --------------------------------------------------
venv_checkov_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
}
if [[ -x "$VENV/bin/checkov" && "$(venv_checkov_version)" == "$CHECKOV_VERSION" ]]; then
  acr_log "reusing $VENV (checkov $CHECKOV_VERSION)"
else
  PY="${ACR_GATE_PYTHON:-python3}"
  command -v "$PY" >/dev/null || acr_die "$PY is not on PATH (set ACR_GATE_PYTHON)"
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || acr_die "checkov $CHECKOV_VERSION needs Python >= 3.9; $PY is $("$PY" --version 2>&1)"
  acr_log "installing checkov $CHECKOV_VERSION into $VENV with $("$PY" --version 2>&1) ..."
  rm -rf "$VENV"
  t0=$SECONDS
  "$PY" -m venv "$VENV" || acr_die "cannot create the virtualenv $VENV"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q "checkov==$CHECKOV_VERSION"; then
    rm -rf "$VENV"
    acr_die "pip install checkov==$CHECKOV_VERSION failed"
  fi
  [[ "$(venv_checkov_version)" == "$CHECKOV_VERSION" ]] || acr_die "checkov $CHECKOV_VERSION is not importable in $VENV"
  acr_log "installed checkov $CHECKOV_VERSION in $((SECONDS - t0)) s"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/acr-gate-scan.XXXXXX")"
cleanup() {
  if [[ "${ACR_GATE_KEEP_WORK:-0}" == 1 ]]; then acr_log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- 2. build and synthesize ----------------------------------------------------------
acr_build_app
acr_synth_all "$WORK/synth"
if [[ ${#ACR_SYNTH_FAILED[@]} -gt 0 ]]; then
  acr_die "synth failed for: ${ACR_SYNTH_FAILED[*]}"
fi
[[ ${#ACR_STACK_FILES[@]} -gt 0 ]] || acr_die "no stack to scan"

# Copy every stack to scan/<config>/<stack>/cdk.tf.json. checkov 3.3.30's
# terraform_json parser crashes on a string terraform.required_version (checkov
# issue #7454) and on `removed` blocks, so the copy drops them, if present, and says so.
for s in "${ACR_STACK_FILES[@]}"; do
  label="${s%%|*}"; file="${s#*|}"
  stack="$(basename "$(dirname "$file")")"
  mkdir -p "$WORK/scan/$label/$stack"
  # shellcheck disable=SC2016  # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const [src, dst, name] = process.argv.slice(1);
    const doc = JSON.parse(fs.readFileSync(src, "utf8"));
    if (doc.terraform && "required_version" in doc.terraform) {
      delete doc.terraform.required_version;
      console.error(`scan: note: ${name}: terraform.required_version dropped for checkov (issue #7454)`);
    }
    // checkov 3.3.30 cannot parse `removed` blocks (a split team stack hands its groups over with
    // them); they configure no resource, so the copy drops them, and says so.
    if ("removed" in doc) {
      delete doc.removed;
      console.error(`scan: note: ${name}: removed blocks dropped for checkov (they configure no resource)`);
    }
    fs.writeFileSync(dst, JSON.stringify(doc, null, 2) + "\n");
  ' "$file" "$WORK/scan/$label/$stack/cdk.tf.json" "$label/$stack"
done

# --- 3. checkov -------------------------------------------------------------------------
acr_log "checkov $CHECKOV_VERSION --framework terraform_json on ${#ACR_STACK_FILES[@]} stack(s)"
mkdir -p "$WORK/report"
rc=0
"$VENV/bin/checkov" --framework terraform_json -d "$WORK/scan" --skip-download -o json \
  >"$WORK/report/results.json" 2>"$WORK/report/checkov.log" || rc=$?
# checkov exits 1 when a check fails; anything else is a crash
if [[ $rc -gt 1 || ! -s "$WORK/report/results.json" ]]; then
  sed 's/^/    /' "$WORK/report/checkov.log" >&2
  acr_die "checkov did not complete (exit $rc)"
fi
"$VENV/bin/python" "$ACR_REPO_ROOT/scripts/checkov_report.py" "$WORK/report/results.json" "$SKIPS"
