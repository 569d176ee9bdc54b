# shellcheck shell=bash
# Build the app once and synthesize the default configuration plus every
# examples/*.yaml into its own directory. Sourced by validate.sh and scan.sh;
# needs ACR_REPO_ROOT and acr_log/acr_warn/acr_die (scripts/lib-providers.sh).
#
# ACR_SYNTH_AZURERM=VERSION: synthesize each configuration with `azurermVersion: VERSION` instead
# of its own (scripts/with-azurerm.cjs writes the copy), for validate.sh --azurerm.
#
# ACR_SYNTH_CONFIGS (an array, from --config): synthesize only these configurations ("default"
# for the default one, else a file) instead of the default and every examples/*.yaml.
#
# acr_config_arg VALUE: checks one --config value and adds it to ACR_SYNTH_CONFIGS.
#
# After acr_synth_all OUTROOT:
#   ACR_STACK_FILES    "<config label>|<path of stacks/<stack>/cdk.tf.json>" entries
#   ACR_SYNTH_FAILED   labels of configurations that did not synthesize a stack
#   ACR_CONFIG_OF      label -> the configuration ("default" or its file)

acr_build_app() {
  if [[ "${ACR_GATE_SKIP_BUILD:-0}" == 1 ]]; then
    acr_log "ACR_GATE_SKIP_BUILD=1: using the existing dist/"
  else
    [[ -d "$ACR_REPO_ROOT/node_modules" ]] || acr_die "node_modules/ is missing: run 'npm ci' first"
    acr_log "npm run build"
    (cd "$ACR_REPO_ROOT" && npm run --silent build) || acr_die "npm run build failed"
  fi
  [[ -f "$ACR_REPO_ROOT/dist/main.js" ]] || acr_die "dist/main.js does not exist (npm run build)"
}

ACR_SYNTH_CONFIGS=()
# Where a relative --config is read from: where the user ran the command (npm runs scripts in the
# project root and says where it was started in INIT_CWD), not where the script has since gone.
ACR_CALLER_PWD="${INIT_CWD:-$PWD}"

# acr_config_path VALUE: the absolute path of a --config file; dies on a missing one, and on a
# name with a `|` or a line break (the entries lists are `|`-separated lines).
acr_config_path() {
  local f="$1"
  [[ "$f" != *"|"* && "$f" != *$'\n'* ]] || acr_die "--config: a file name with '|' or a line break is not supported: $(printf '%q' "$f")"
  [[ "$f" == /* ]] || f="$ACR_CALLER_PWD/$f"
  [[ -f "$f" ]] || acr_die "--config $(printf '%q' "$1"): no such file"
  printf '%s/%s\n' "$(cd -- "$(dirname -- "$f")" && pwd)" "$(basename -- "$f")"
}

acr_config_arg() {
  if [[ "$1" == default ]]; then ACR_SYNTH_CONFIGS+=(default); return; fi
  local abs
  abs="$(acr_config_path "$1")" || exit 1
  ACR_SYNTH_CONFIGS+=("$abs")
}

acr_synth_all() {
  local outroot="$1" cfg label out ok f
  local -a configs=(default) found
  shopt -s nullglob
  for f in "$ACR_REPO_ROOT"/examples/*.yaml; do configs+=("$f"); done
  shopt -u nullglob
  if [[ ${#ACR_SYNTH_CONFIGS[@]} -gt 0 ]]; then configs=("${ACR_SYNTH_CONFIGS[@]}"); fi
  ACR_STACK_FILES=()
  ACR_SYNTH_FAILED=()
  declare -gA ACR_CONFIG_OF=()
  acr_log "configurations: $(printf '%s ' "${configs[@]}" | sed "s#$ACR_REPO_ROOT/##g; s/ $//")"
  for cfg in "${configs[@]}"; do
    if [[ "$cfg" == default ]]; then label=default; else label="$(basename -- "$cfg")"; label="${label%.*}"; fi
    # Two configs of one name (from two directories), or a.yaml beside a.log.yaml, get their own
    # output directory, log and config copy.
    while [[ -e "$outroot/$label" || -e "$outroot/$label.log" || -e "$outroot/$label.config.json" ]]; do label="$label-2"; done
    out="$outroot/$label"
    ACR_CONFIG_OF[$label]="$cfg"
    mkdir -p "$out"
    ok=1
    if [[ -n "${ACR_SYNTH_AZURERM:-}" ]]; then
      node "$ACR_REPO_ROOT/scripts/with-azurerm.cjs" "$cfg" "$out.config.json" "$ACR_SYNTH_AZURERM" >"$out.log" 2>&1 || ok=0
      [[ $ok == 1 ]] && { (cd "$ACR_REPO_ROOT" && ACR_GATE_CONFIG="$out.config.json" CDKTF_OUTDIR="$out" node dist/main.js) >"$out.log" 2>&1 || ok=0; }
    elif [[ "$cfg" == default ]]; then
      (cd "$ACR_REPO_ROOT" && env -u ACR_GATE_CONFIG CDKTF_OUTDIR="$out" node dist/main.js) >"$out.log" 2>&1 || ok=0
    else
      (cd "$ACR_REPO_ROOT" && ACR_GATE_CONFIG="$cfg" CDKTF_OUTDIR="$out" node dist/main.js) >"$out.log" 2>&1 || ok=0
    fi
    if [[ $ok == 0 ]]; then
      sed 's/^/    /' "$out.log" >&2
      acr_warn "synth of $label failed"
      ACR_SYNTH_FAILED+=("$label")
      continue
    fi
    shopt -s nullglob
    found=("$out"/stacks/*/cdk.tf.json)
    shopt -u nullglob
    if [[ ${#found[@]} == 0 ]]; then
      sed 's/^/    /' "$out.log" >&2
      acr_warn "synth of $label wrote no stacks/*/cdk.tf.json"
      ACR_SYNTH_FAILED+=("$label")
      continue
    fi
    acr_log "synth $label: ${#found[@]} stack(s)"
    for f in "${found[@]}"; do ACR_STACK_FILES+=("$label|$f"); done
  done
}
