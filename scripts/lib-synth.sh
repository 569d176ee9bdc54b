# shellcheck shell=bash
# Build the app once and synthesize the default configuration plus every
# examples/*.yaml into its own directory. Sourced by validate.sh and scan.sh;
# needs ACR_REPO_ROOT and acr_log/acr_warn/acr_die (scripts/lib-providers.sh).
#
# ACR_SYNTH_AZURERM=VERSION: synthesize each configuration with `azurermVersion: VERSION` instead
# of its own (scripts/with-azurerm.cjs writes the copy), for validate.sh --azurerm.
#
# After acr_synth_all OUTROOT:
#   ACR_STACK_FILES    "<config label>|<path of stacks/<stack>/cdk.tf.json>" entries
#   ACR_SYNTH_FAILED   labels of configurations that did not synthesize a stack

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

acr_synth_all() {
  local outroot="$1" cfg label out ok f
  local -a configs=(default) found
  shopt -s nullglob
  for f in "$ACR_REPO_ROOT"/examples/*.yaml; do configs+=("$f"); done
  shopt -u nullglob
  ACR_STACK_FILES=()
  ACR_SYNTH_FAILED=()
  acr_log "configurations: default${configs[1]+ $(printf 'examples/%s ' "${configs[@]:1}" | sed "s#examples/$ACR_REPO_ROOT/examples/#examples/#g; s/ $//")}"
  for cfg in "${configs[@]}"; do
    if [[ "$cfg" == default ]]; then label=default; else label="$(basename "$cfg" .yaml)"; fi
    out="$outroot/$label"
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
