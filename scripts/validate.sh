#!/usr/bin/env bash
# npm run validate: synthesize the default configuration and every
# examples/*.yaml, then run `terraform init -backend=false` and
# `terraform validate -json` in every synthesized stack, offline, with the
# providers taken from a local filesystem mirror. See help/validation.md.
#
# Closing line: "validate: N passed, N failed" (N = stacks; a configuration
# that fails to synthesize counts as one failed), or with --azurerm
# "validate (azurerm VERSION): N passed, N failed".
#
#   bash scripts/validate.sh                   the stacks as synthesized (the pinned azurerm)
#   bash scripts/validate.sh --config my.yaml  only the given configurations (repeatable;
#                                              `default` for the default one)
#   bash scripts/validate.sh --azurerm 5.2.0   the forward check: every configuration
#                                              synthesized with `azurermVersion: 5.2.0`
#                                              (a version lib/provider-versions.ts allows),
#                                              validated on that exact provider
#
# Environment (see also scripts/lib-providers.sh):
#   ACR_GATE_TF_MIRROR        provider mirror searched first
#   ACR_GATE_STRICT_PROVIDERS=1  fail instead of substituting another azurerm version
#   ACR_GATE_KEEP_WORK=1      keep the temporary work directory
#   ACR_GATE_SKIP_BUILD=1     do not run `npm run build` (dist/ must be current)
set -euo pipefail

ACR_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ACR_REPO_ROOT
ACR_LOG_TAG=validate
# shellcheck source=scripts/lib-providers.sh
source "$ACR_REPO_ROOT/scripts/lib-providers.sh"
# shellcheck source=scripts/lib-synth.sh
source "$ACR_REPO_ROOT/scripts/lib-synth.sh"
TFJSON="$ACR_REPO_ROOT/scripts/lib-tfjson.cjs"
ALLOW="$ACR_REPO_ROOT/scripts/validate-warnings.allow"
SUBST_ALLOW=""   # set below when a substitute azurerm is in use
cd "$ACR_REPO_ROOT"

ACR_SYNTH_AZURERM=""
CLOSING="validate"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --azurerm)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || acr_die "--azurerm takes a version such as 5.2.0"
      ACR_SYNTH_AZURERM="$2"; CLOSING="validate (azurerm $2)"; shift 2 ;;
    --config)
      [[ $# -ge 2 ]] || acr_die "--config needs a config file or 'default'"
      acr_config_arg "$2"; shift 2 ;;
    *) acr_die "unknown argument $1 (usage: bash scripts/validate.sh [--azurerm VERSION] [--config FILE|default ...])" ;;
  esac
done
export ACR_SYNTH_AZURERM

command -v node >/dev/null || acr_die "node is not on PATH"
command -v npm >/dev/null || acr_die "npm is not on PATH"
acr_check_mirror_env

WORK="$(mktemp -d "${TMPDIR:-/tmp}/acr-gate-validate.XXXXXX")"
cleanup() {
  if [[ "${ACR_GATE_KEEP_WORK:-0}" == 1 ]]; then
    acr_log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# --- 1. Terraform CLI -----------------------------------------------------------
acr_resolve_tf_cli
TF_VERSION_OUT="$("$ACR_TF_BIN" version 2>/dev/null || true)"
TF_VERSION_LINE="${TF_VERSION_OUT%%$'\n'*}"
acr_log "CLI: $ACR_TF_BIN ($TF_VERSION_LINE)"

# --- 2. build and synthesize ----------------------------------------------------
acr_build_app
acr_synth_all "$WORK/synth"

passed=0
failed=0
failures=()
for l in ${ACR_SYNTH_FAILED[@]+"${ACR_SYNTH_FAILED[@]}"}; do
  failed=$((failed + 1)); failures+=("$l (synth)")   # counted as one failed
done
stack_files=(${ACR_STACK_FILES[@]+"${ACR_STACK_FILES[@]}"})

# --- 3. providers ---------------------------------------------------------------
rewrite=()       # NAME=SOURCE@VERSION for lib-tfjson.cjs prepare
tfrc_blocks=""
banner=()
if [[ ${#stack_files[@]} -gt 0 ]]; then
  paths=()
  for s in "${stack_files[@]}"; do paths+=("${s#*|}"); done
  declare -A want=()
  while IFS=$'\t' read -r name source constraint; do
    [[ -n "$name" ]] || continue
    src="${source#registry.terraform.io/}"
    [[ "$src" == */* ]] || src="hashicorp/$src"
    [[ "$src" == hashicorp/* ]] || acr_die "provider $name has source $source: only registry.terraform.io/hashicorp/* providers can come from the offline mirror"
    type="${src#hashicorp/}"
    ver="$(sed -E 's/^[[:space:]]*=?[[:space:]]*v?//; s/[[:space:]]+$//' <<<"$constraint")"
    [[ "$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$ ]] \
      || acr_die "provider $name has version constraint '$constraint'; validate needs an exact version pin"
    if [[ -n "${want[$name]:-}" && "${want[$name]}" != "$type@$ver" ]]; then
      acr_die "stacks disagree on provider $name: ${want[$name]} vs $type@$ver"
    fi
    want[$name]="$type@$ver"
  done < <(node "$TFJSON" providers "${paths[@]}")

  plat="$(acr_platform)"
  for name in "${!want[@]}"; do
    type="${want[$name]%@*}"; ver="${want[$name]#*@}"
    acr_resolve_provider "$type" "$ver"
    # the stack copy is rewritten only for a substitute version, or for OpenTofu
    # (whose default registry host differs; the mirrors hold registry.terraform.io)
    if [[ "$ACR_TF_KIND" == tofu ]]; then
      rewrite+=("$name=registry.terraform.io/hashicorp/$type@$ACR_RESOLVED_VERSION")
    elif [[ "$ACR_RESOLVED_VERSION" != "$ver" ]]; then
      rewrite+=("$name=hashicorp/$type@$ACR_RESOLVED_VERSION")
    fi
    tfrc_blocks+="  filesystem_mirror {
    path    = \"$ACR_RESOLVED_MIRROR\"
    include = [\"registry.terraform.io/hashicorp/$type\"]
  }
"
    if [[ "$ACR_RESOLVED_VERSION" == "$ver" ]]; then
      banner+=("$type $ver (exact pin) from $ACR_RESOLVED_MIRROR")
    else
      banner+=("$type $ACR_RESOLVED_VERSION SUBSTITUTED for pinned $ver -- $ACR_AZURERM_SUBST_DESC; from $ACR_RESOLVED_MIRROR")
    fi
  done
fi

TFRC="$WORK/offline.tfrc"
{
  printf '# written by scripts/validate.sh: providers only from local mirrors\n'
  printf 'provider_installation {\n%s' "$tfrc_blocks"
  printf '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
} >"$TFRC"
export TF_CLI_CONFIG_FILE="$TFRC" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR

print_banner() {
  local b
  acr_log "providers used:"
  for b in "${banner[@]}"; do
    if [[ "$b" == *SUBSTITUTED* ]]; then
      printf 'validate:   !!! %s\n' "$b" >&2
    else
      printf 'validate:   %s\n' "$b" >&2
    fi
  done
}
[[ ${#banner[@]} -gt 0 ]] && print_banner
for b in ${banner[@]+"${banner[@]}"}; do
  [[ "$b" == *SUBSTITUTED* ]] && SUBST_ALLOW="$ACR_REPO_ROOT/scripts/validate-substitute.allow"
done

# --- 4. init + validate every stack ----------------------------------------------
for s in "${stack_files[@]}"; do
  label="${s%%|*}"; file="${s#*|}"
  stack="$(basename "$(dirname "$file")")"
  name="$label/$stack"
  dir="$WORK/validate/$label/$stack"
  mkdir -p "$dir"
  # copy the stack directory (assets etc.), then rewrite the provider pins
  cp -R "$(dirname "$file")/." "$dir/"
  rm -rf "$dir/.terraform" "$dir/.terraform.lock.hcl"
  node "$TFJSON" prepare "$file" "$dir/cdk.tf.json" ${rewrite[@]+"${rewrite[@]}"}

  ok=1
  if ! "$ACR_TF_BIN" -chdir="$dir" init -backend=false -input=false -no-color >"$dir/init.log" 2>&1; then
    sed 's/^/    /' "$dir/init.log"
    printf 'validate: FAIL %s (terraform init failed)\n' "$name"
    failed=$((failed + 1)); failures+=("$name (init)")
    continue
  fi
  if ! node "$TFJSON" warnings "$dir/init.log" "$dir/cdk.tf.json" "$ALLOW" "$name (init)"; then
    ok=0
  fi
  "$ACR_TF_BIN" -chdir="$dir" validate -json -no-color >"$dir/validate.json" 2>"$dir/validate.err" || true
  if ! node "$TFJSON" report "$dir/validate.json" "$dir/cdk.tf.json" "$ALLOW" "$name" "$SUBST_ALLOW"; then
    ok=0
    [[ -s "$dir/validate.err" ]] && sed 's/^/    /' "$dir/validate.err"
  fi
  if [[ $ok == 1 ]]; then
    printf 'validate: PASS %s\n' "$name"
    passed=$((passed + 1))
  else
    printf 'validate: FAIL %s\n' "$name"
    failed=$((failed + 1)); failures+=("$name")
  fi
done

[[ ${#banner[@]} -gt 0 ]] && print_banner
if [[ ${#failures[@]} -gt 0 ]]; then
  acr_log "failed: ${failures[*]}"
fi
if [[ $((passed + failed)) == 0 ]]; then
  acr_log "no stack was validated"
  failed=1
fi
printf '%s: %d passed, %d failed\n' "$CLOSING" "$passed" "$failed"
[[ $failed == 0 ]]
