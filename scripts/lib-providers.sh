# shellcheck shell=bash
# shellcheck disable=SC2034  # variables set here are read by the scripts that source this file
# Helpers for scripts/validate.sh: find the Terraform CLI and the provider
# binaries that the synthesized stacks need, without touching the network
# (except the Go module proxy, to build what is missing).
#
# Sourced, not executed. Expects ACR_REPO_ROOT to be set.
#
# Environment:
#   ACR_GATE_TF_MIRROR      extra filesystem mirror, searched first (must exist if set)
#   ACR_GATE_CACHE_DIR      cache root (default ~/.cache/acr-gate); the built
#                           providers live in $ACR_GATE_CACHE_DIR/tf-mirror
#   ACR_GATE_STRICT_PROVIDERS=1   never substitute another provider version:
#                           fail if the exact pinned version cannot be found
#   GO                      Go binary (default: go on PATH, else /usr/local/go/bin/go)

ACR_CACHE_DIR="${ACR_GATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/acr-gate}"
ACR_CACHE_MIRROR="$ACR_CACHE_DIR/tf-mirror"
ACR_BUILD_DIR="$ACR_CACHE_DIR/build"

# --- azurerm substitution ----------------------------------------------------
# The Go module proxy refuses github.com/hashicorp/terraform-provider-azurerm at
# any v4.x tag (the module path has no /v4 suffix, so release tags are not valid
# module versions). The only version it serves is this pseudo-version of a
# main-branch commit. Its CHANGELOG.md tops out at "5.2.0 (August 20, 2026)" and
# its tree differs from the v5.2.0 tag by the commits merged up to 2026-08-24, so
# it is an unreleased build after 5.2.0. We install it under the version Go would
# give that commit under its real major version: v5.2.1-0.<time>-<commit>.
ACR_AZURERM_SUBST_GOMOD="github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926"
ACR_AZURERM_SUBST_VERSION="5.2.1-0.20260824201233-fae580791926"
ACR_AZURERM_SUBST_DESC="unreleased main-branch commit fae580791926 of 2026-08-24 (azurerm 5.2.0 + later commits)"

acr_log()  { printf '%s: %s\n' "${ACR_LOG_TAG:-validate}" "$*" >&2; }
acr_warn() { printf '%s: WARNING: %s\n' "${ACR_LOG_TAG:-validate}" "$*" >&2; }
acr_die()  { printf '%s: ERROR: %s\n' "${ACR_LOG_TAG:-validate}" "$*" >&2; exit 1; }

acr_go() {
  if [[ -n "${GO:-}" ]]; then
    printf '%s\n' "$GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    return 1
  fi
}

acr_platform() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) acr_die "unsupported machine architecture $(uname -m)" ;;
  esac
  printf '%s_%s\n' "$os" "$arch"
}

# Fails loudly on a mirror setting that points nowhere (call it early: the
# functions below run in subshells, where acr_die cannot stop the script).
acr_check_mirror_env() {
  if [[ -n "${ACR_GATE_TF_MIRROR:-}" && ! -d "$ACR_GATE_TF_MIRROR" ]]; then
    acr_die "ACR_GATE_TF_MIRROR=$ACR_GATE_TF_MIRROR is not a directory"
  fi
}

# Mirrors to search, in order, one per line.
acr_mirrors() {
  if [[ -n "${ACR_GATE_TF_MIRROR:-}" ]]; then
    (cd "$ACR_GATE_TF_MIRROR" 2>/dev/null && pwd)
  fi
  if [[ -d "$ACR_REPO_ROOT/../shared/terraform-mirror" ]]; then
    (cd "$ACR_REPO_ROOT/../shared/terraform-mirror" && pwd)
  fi
  printf '%s\n' "$ACR_CACHE_MIRROR"
}

# acr_mirror_has MIRROR TYPE VERSION PLATFORM -> 0 if the mirror holds that
# provider in the unpacked or the packed layout.
acr_mirror_has() {
  local m="$1" type="$2" ver="$3" plat="$4" base
  base="$m/registry.terraform.io/hashicorp/$type"
  if [[ -d "$base/$ver/$plat" ]] && compgen -G "$base/$ver/$plat/terraform-provider-${type}*" >/dev/null; then
    return 0
  fi
  [[ -f "$base/terraform-provider-${type}_${ver}_${plat}.zip" ]]
}

# acr_find_provider TYPE VERSION -> prints the first mirror holding it.
acr_find_provider() {
  local type="$1" ver="$2" plat m
  plat="$(acr_platform)"
  while IFS= read -r m; do
    if acr_mirror_has "$m" "$type" "$ver" "$plat"; then
      printf '%s\n' "$m"
      return 0
    fi
  done < <(acr_mirrors)
  return 1
}

# Print "Wall: ..., max RSS: ..." from a /usr/bin/time -v log.
acr_time_summary() {
  local log="$1" wall rss
  wall="$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | tail -1)"
  rss="$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$log" | tail -1)"
  if [[ -n "$wall" ]]; then
    printf 'wall %s, max RSS %s MiB' "$wall" "$(( ${rss:-0} / 1024 ))"
  else
    printf 'timing unavailable'
  fi
}

# Run a command under /usr/bin/time -v when available, output appended to LOG.
acr_timed() {
  local log="$1"; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v "$@" >>"$log" 2>&1
  else
    "$@" >>"$log" 2>&1
  fi
}

# acr_install_binary TYPE VERSION BINARY -> copies BINARY into the cache mirror.
acr_install_binary() {
  local type="$1" ver="$2" bin="$3" plat dest
  plat="$(acr_platform)"
  dest="$ACR_CACHE_MIRROR/registry.terraform.io/hashicorp/$type/$ver/$plat"
  mkdir -p "$dest"
  cp "$bin" "$dest/.terraform-provider-${type}_v${ver}_x5.tmp"
  chmod 0755 "$dest/.terraform-provider-${type}_v${ver}_x5.tmp"
  mv -f "$dest/.terraform-provider-${type}_v${ver}_x5.tmp" "$dest/terraform-provider-${type}_v${ver}_x5"
  acr_log "installed $type $ver into $dest"
}

# acr_build_gomod TYPE MIRROR_VERSION MODULE@VERSION [LDFLAGS_X...]
# Builds a provider with `go install MODULE@VERSION` (needs a go.mod without
# replace directives) and installs it into the cache mirror.
acr_build_gomod() {
  local type="$1" ver="$2" modver="$3"; shift 3
  local go log bindir ldflags="-s -w" x
  go="$(acr_go)" || acr_die "cannot build terraform-provider-$type $ver: no Go toolchain (set GO=/path/to/go)"
  for x in "$@"; do ldflags+=" -X $x"; done
  mkdir -p "$ACR_BUILD_DIR"
  log="$ACR_BUILD_DIR/$type-$ver.log"
  bindir="$ACR_BUILD_DIR/bin-$type-$ver"
  rm -rf "$bindir"; mkdir -p "$bindir"
  : >"$log"
  # Never quietly: a provider build takes long and a lot of disk, and a mirror avoids it.
  acr_warn "no provider mirror holds terraform-provider-$type $ver ($(acr_mirrors | paste -sd' ' -)): building it from source with Go, which takes 10-30 minutes and several GB on the first run (cached in $ACR_CACHE_MIRROR afterwards). To skip the build, point ACR_GATE_TF_MIRROR at a provider mirror (\`terraform providers mirror\`, help/getting-started.md \"Without access to the Terraform registry\"); ACR_GATE_STRICT_PROVIDERS=1 fails instead of building."
  acr_log "building terraform-provider-$type $ver from $modver with $("$go" version) (log: $log) ..."
  if ! (cd "$ACR_BUILD_DIR" && GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$bindir" \
        acr_timed "$log" "$go" install -trimpath -ldflags="$ldflags" "$modver"); then
    tail -n 40 "$log" >&2
    acr_die "building terraform-provider-$type from $modver failed (full log: $log)"
  fi
  [[ -x "$bindir/terraform-provider-$type" ]] || acr_die "go install produced no terraform-provider-$type in $bindir"
  acr_log "built terraform-provider-$type $ver: $(acr_time_summary "$log")"
  acr_install_binary "$type" "$ver" "$bindir/terraform-provider-$type"
  rm -rf "$bindir"
}

# acr_resolve_provider TYPE VERSION
# Sets ACR_RESOLVED_MIRROR and ACR_RESOLVED_VERSION (may differ from VERSION
# for azurerm, see above), building into the cache mirror when needed.
acr_resolve_provider() {
  local type="$1" ver="$2" m
  ACR_RESOLVED_VERSION="$ver"
  if m="$(acr_find_provider "$type" "$ver")"; then
    ACR_RESOLVED_MIRROR="$m"
    return 0
  fi
  case "$type" in
    azurerm)
      if [[ "${ACR_GATE_STRICT_PROVIDERS:-0}" == 1 ]]; then
        acr_die "azurerm $ver is in no mirror ($(acr_mirrors | paste -sd' ' -)), the Go module proxy does not serve it, and ACR_GATE_STRICT_PROVIDERS=1 forbids a substitute. Supply a mirror with ACR_GATE_TF_MIRROR."
      fi
      acr_warn "azurerm $ver is in no mirror and cannot be built from the Go module proxy; substituting azurerm $ACR_AZURERM_SUBST_VERSION"
      ACR_RESOLVED_VERSION="$ACR_AZURERM_SUBST_VERSION"
      if ! m="$(acr_find_provider azurerm "$ACR_RESOLVED_VERSION")"; then
        acr_build_gomod azurerm "$ACR_RESOLVED_VERSION" "$ACR_AZURERM_SUBST_GOMOD" \
          "github.com/hashicorp/terraform-provider-azurerm/version.ProviderVersion=$ACR_RESOLVED_VERSION"
        m="$ACR_CACHE_MIRROR"
      fi
      ACR_RESOLVED_MIRROR="$m"
      ;;
    *)
      # Other hashicorp providers: their release tags are valid module versions.
      acr_build_gomod "$type" "$ver" "github.com/hashicorp/terraform-provider-$type@v$ver" "main.version=$ver"
      ACR_RESOLVED_MIRROR="$ACR_CACHE_MIRROR"
      ;;
  esac
}

# --- Terraform CLI -------------------------------------------------------------
# Sets ACR_TF_BIN and ACR_TF_KIND (terraform|tofu). Uses `terraform` on PATH
# (or $ACR_GATE_TERRAFORM); otherwise `tofu` on PATH; otherwise builds OpenTofu
# from the Go module proxy into the cache.
ACR_TOFU_VERSION="${ACR_GATE_TOFU_VERSION:-1.10.10}"

acr_build_tofu() {
  local go log dir dest="$ACR_CACHE_DIR/bin/tofu-$ACR_TOFU_VERSION"
  go="$(acr_go)" || acr_die "no terraform or tofu on PATH and no Go toolchain to build OpenTofu"
  mkdir -p "$ACR_BUILD_DIR" "$ACR_CACHE_DIR/bin"
  log="$ACR_BUILD_DIR/tofu-$ACR_TOFU_VERSION.log"
  : >"$log"
  acr_log "no terraform on PATH: building OpenTofu $ACR_TOFU_VERSION from the Go module proxy (log: $log) ..."
  # OpenTofu's go.mod has replace directives, so `go install …@version` refuses
  # it: build inside the downloaded module instead (its own go.mod and go.sum).
  dir="$(cd "$ACR_BUILD_DIR" && GOWORK=off GOFLAGS=-mod=mod "$go" mod download -json \
         "github.com/opentofu/opentofu@v$ACR_TOFU_VERSION" 2>>"$log" \
         | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { tail -n 20 "$log" >&2; acr_die "cannot download OpenTofu $ACR_TOFU_VERSION from the Go module proxy (log: $log)"; }
  if ! (cd "$dir" && GOWORK=off GOFLAGS="-buildvcs=false -mod=readonly" \
        acr_timed "$log" "$go" build -trimpath -ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$dest.tmp" ./cmd/tofu); then
    tail -n 40 "$log" >&2
    acr_die "building OpenTofu $ACR_TOFU_VERSION failed (log: $log)"
  fi
  mv -f "$dest.tmp" "$dest"
  acr_log "built OpenTofu $ACR_TOFU_VERSION: $(acr_time_summary "$log")"
}

acr_resolve_tf_cli() {
  if [[ -n "${ACR_GATE_TERRAFORM:-}" ]]; then
    ACR_TF_BIN="$ACR_GATE_TERRAFORM"
  elif command -v terraform >/dev/null 2>&1; then
    ACR_TF_BIN="$(command -v terraform)"
  elif command -v tofu >/dev/null 2>&1; then
    ACR_TF_BIN="$(command -v tofu)"
  else
    ACR_TF_BIN="$ACR_CACHE_DIR/bin/tofu-$ACR_TOFU_VERSION"
    [[ -x "$ACR_TF_BIN" ]] || acr_build_tofu
  fi
  [[ -x "$ACR_TF_BIN" ]] || acr_die "Terraform CLI $ACR_TF_BIN is not executable"
  local out
  out="$("$ACR_TF_BIN" version 2>/dev/null || true)"
  if [[ "$out" == OpenTofu* ]]; then
    ACR_TF_KIND=tofu
  else
    ACR_TF_KIND=terraform
  fi
}
