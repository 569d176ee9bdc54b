#!/usr/bin/env bash
# npm run check-tasks: run every generated ACR task file through Azure's own task engine, acb
# (`exec --dry-run`, offline), and check the docker command lines it prints, not only that it
# accepts the file. Issue 11, item 2.
#
#   bash scripts/acb-check.sh                  synthesize the default config and every
#                                              examples/*.yaml (scripts/lib-synth.sh), check all
#   bash scripts/acb-check.sh [--config C] F... check the given cdk.tf.json files; --config
#                                              (a config file, or "default") applies to the files
#                                              after it and says each gate's scan mode and test;
#                                              a --config with no file after it is synthesized
#                                              and checked itself
#
# Per task with an encoded_step (app/acb-check.ts, compiled to dist/app/acb-check.js, does the work):
#   - the task file without its `secrets:` list and with secret references as placeholders, and
#     its values with each Terraform expression as a placeholder of the same shape (zero GUID
#     for a subscription id, an Azure id for `.id`, 6 hex digits for substr(sha1(..), 0, 6), ...);
#   - `unshare -n acb exec --dry-run --debug` with the registry's login server; a non-zero exit,
#     a timeout or an error line fails the task;
#   - gates: the functional test runs the image the test build tagged; the scan reads (--input)
#     the file `docker save -o` wrote, on a volume both steps mount, outside every build context;
#     every push, signature and evidence waits (when graph) for the test and the scan and every
#     step lib/gate-steps.ts declares validating (the two agree), and acb ran it after them; the
#     scan enforces (--exit-code > 0) or reports (0) as the config says (without one: a gate with
#     no test must enforce); --scanners vuln; the scanner image pinned by tag and digest; no base
#     image trigger without a build step;
#   - apps: the deploy step's `az container create` equals the azurerm_container_group of the
#     same name (task value ACI) in the same JSON: name, resource group, location, OS, CPU,
#     memory, ports, DNS label, restart policy, IP type, login server, identity or token secrets.
# Tasks with a file_step (task file in Git) are listed as not checkable offline. A full run also
# scans the starter test context (examples/gate-test) with acb's Dockerfile scanner.
#
# Closing line: "acb-check: N tasks checked, M steps checked, F failed" (a configuration that
# fails to synthesize counts as one failed), or "acb-check: skipped: <why>" (exit 0) when acb or
# `unshare -n` is missing; ACR_GATE_REQUIRE_TOOLS=1 (.ci/run) makes that a failure.
#
# Environment:
#   ACR_GATE_ACB              acb binary (default ../shared/tools/acb/acb beside the repository)
#   ACR_GATE_ACB_TIMEOUT      seconds per acb run (default 20; a run takes ~50 ms)
#   ACR_GATE_REQUIRE_TOOLS=1  a missing acb or unshare is an error, not a skip
#   ACR_GATE_KEEP_WORK=1      keep the work directory (task files, values, acb logs)
#   ACR_GATE_SKIP_BUILD=1     do not run `npm run build` (dist/ must be current)
set -euo pipefail

ACR_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ACR_REPO_ROOT
ACR_LOG_TAG=acb-check
# The log helpers lib-synth.sh expects (lib-providers.sh has them too, with Terraform's setup).
acr_log()  { printf '%s: %s\n' "$ACR_LOG_TAG" "$*" >&2; }
acr_warn() { printf '%s: WARNING: %s\n' "$ACR_LOG_TAG" "$*" >&2; }
acr_die()  { printf '%s: ERROR: %s\n' "$ACR_LOG_TAG" "$*" >&2; exit 1; }
# shellcheck source=scripts/lib-synth.sh
source "$ACR_REPO_ROOT/scripts/lib-synth.sh"

# --- arguments: [--config C] FILE ... --------------------------------------------------------
entries=()        # "WHERE|CONFIG|FILE" for dist/app/acb-check.js

config=""
files_after=0     # files given after the current --config
pending=()        # --config values with no file after them: synthesized and checked whole
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config)
      [[ $# -ge 2 ]] || acr_die "--config needs a config file or 'default'"
      [[ -n "$config" && $files_after == 0 ]] && pending+=("$config")
      config="$2"; files_after=0; shift 2
      if [[ "$config" != default ]]; then config="$(acr_config_path "$config")" || exit 1; fi
      ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    -*) acr_die "unknown option $1 (see the top of $0)" ;;
    *)
      [[ -f "$1" ]] || acr_die "$1: no such file"
      entries+=("$1|$config|$1"); files_after=$((files_after + 1)); shift ;;
  esac
done
[[ -n "$config" && $files_after == 0 ]] && pending+=("$config")
for c in ${pending[@]+"${pending[@]}"}; do acr_config_arg "$c"; done

# --- tools: acb, and a network namespace to run it in ----------------------------------------
skip() {
  if [[ "${ACR_GATE_REQUIRE_TOOLS:-0}" == 1 ]]; then
    acr_log "ERROR: $1 (ACR_GATE_REQUIRE_TOOLS=1: acb is required here)"
    printf 'acb-check: failed: %s\n' "$1"
    exit 1
  fi
  printf 'acb-check: skipped: %s (set ACR_GATE_REQUIRE_TOOLS=1 to make this an error)\n' "$1"
  exit 0
}
ACB="${ACR_GATE_ACB:-$ACR_REPO_ROOT/../shared/tools/acb/acb}"
[[ -f "$ACB" && -x "$ACB" ]] || skip "acb not found at $ACB (ACR_GATE_ACB names another)"
command -v unshare >/dev/null 2>&1 || skip "unshare is not installed; acb may only run without network"
# acb must never reach the network (Key Vault, registries, the managed identity endpoint).
unshare -n true 2>/dev/null || skip "\`unshare -n\` does not work here (needs root or user namespaces); acb may only run without network"
acb_version="$(unshare -n "$ACB" --version 2>&1)" || skip "$ACB does not run here: $acb_version"
command -v node >/dev/null || acr_die "node is not on PATH"
[[ -d "$ACR_REPO_ROOT/node_modules/yaml" ]] || acr_die "node_modules/ is missing: run 'npm ci' first"
acr_log "$acb_version ($ACB), under unshare -n"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/acr-gate-acb-check.XXXXXX")"
cleanup() {
  if [[ "${ACR_GATE_KEEP_WORK:-0}" == 1 ]]; then acr_log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- stacks: the given files, or every configuration synthesized -----------------------------
synth_failed=0
full_run=0
if [[ ${#entries[@]} == 0 || ${#ACR_SYNTH_CONFIGS[@]} -gt 0 ]]; then
  # Every configuration (the starter test context too), or the ones --config named alone.
  [[ ${#ACR_SYNTH_CONFIGS[@]} == 0 ]] && full_run=1
  acr_build_app
  acr_synth_all "$WORK/synth"
  for l in ${ACR_SYNTH_FAILED[@]+"${ACR_SYNTH_FAILED[@]}"}; do
    printf 'acb-check: FAIL %s (synth)\n' "$l"
    synth_failed=$((synth_failed + 1))
  done
  for s in ${ACR_STACK_FILES[@]+"${ACR_STACK_FILES[@]}"}; do
    label="${s%%|*}"; file="${s#*|}"
    cfg="${ACR_CONFIG_OF[$label]}"
    entries+=("$label/$(basename "$(dirname "$file")")|$cfg|$file")
  done
else
  # The checks are compiled with the app (dist/app/acb-check.js): --config is read with the app's
  # own loader (lib/config.ts), and every script step is compared with what lib/run-scripts.ts writes.
  acr_build_app
fi

# --- the starter test context (examples/gate-test): acb's own Dockerfile scan, with the build
# arguments a gate passes, must find the source image as the test image's runtime dependency: the
# image the gate's base image trigger follows. Checked on full runs.
if [[ $full_run == 1 ]]; then
  starter="$ACR_REPO_ROOT/examples/gate-test"
  source_image=docker.io/node:15-alpine
  scan_log="$WORK/starter-scan.log"
  (cd "$starter" && timeout "${ACR_GATE_ACB_TIMEOUT:-20}" unshare -n "$ACB" scan -f Dockerfile \
      --build-arg REGISTRY_FROM_URL=docker.io/ --build-arg SOURCE_IMAGE="$source_image" \
      -t starter.azurecr.io/node-import:test --destination "$WORK/starter-scan" .) >"$scan_log" 2>&1 || true
  runtime="$(node -e '
    const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n").find((l) => /\[\{"image"/.test(l));
    const deps = line ? JSON.parse(line.slice(line.indexOf("["))) : [];
    process.stdout.write(deps.map((d) => d["runtime-dependency"] && d["runtime-dependency"].reference).join(","));
  ' "$scan_log" 2>/dev/null || true)"
  if [[ "$runtime" == "$source_image" ]]; then
    printf 'acb-check: PASS examples/gate-test (starter test context): acb scan finds the runtime dependency %s, the source image the gate passes\n' "$runtime"
  else
    printf 'acb-check: FAIL examples/gate-test (starter test context): acb scan finds the runtime dependency [%s], want %s (log: %s)\n' "$runtime" "$source_image" "$scan_log"
    synth_failed=$((synth_failed + 1))
  fi
fi

status=0
node "$ACR_REPO_ROOT/dist/app/acb-check.js" --acb "$ACB" --work "$WORK/acb" \
  --timeout "${ACR_GATE_ACB_TIMEOUT:-20}" --failed "$synth_failed" ${entries[@]+"${entries[@]}"} || status=$?
exit "$status"
