#!/usr/bin/env bash
# npm run tofu -- <args>: OpenTofu, the version acr-gate's JSON is tested on (help/versions.md), built
# from the Go module proxy into ~/.cache/acr-gate/bin on first use (4 to 8 minutes on 2 cores; cached
# afterwards), then run with <args>. `npm run tofu -- version` builds it and says which it is.
# `go install` refuses OpenTofu's module (its go.mod has replace directives), so it is built inside
# the downloaded module, as the lab builds notation (app/lab-images.ts). The build is moved into place
# only whole: a killed build leaves no half a binary. `version.dev=no` as in a release build: a
# "-dev" version would not meet `required_version`.
set -euo pipefail
VERSION=v1.12.6
DIR="${ACR_GATE_CACHE_DIR:-$HOME/.cache/acr-gate}/bin/tofu-$VERSION"
BIN="$DIR/tofu"
if [[ ! -x "$BIN" ]]; then
  go="${GO:-go}"
  if ! command -v "$go" >/dev/null; then echo "tofu: no Go toolchain to build OpenTofu $VERSION (set GO=/path/to/go)" >&2; exit 1; fi
  mkdir -p "$(dirname "$DIR")"
  tmp="$(mktemp -d "$(dirname "$DIR")/.tofu-$VERSION.XXXXXX")"
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  echo "tofu: building OpenTofu $VERSION with $("$go" version) into $DIR (once; cached afterwards)" >&2
  start=$SECONDS
  src="$(cd "$tmp" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/opentofu/opentofu@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || { echo "tofu: go mod download github.com/opentofu/opentofu@$VERSION gave no directory" >&2; exit 1; }
  cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && CGO_ENABLED=0 "$go" build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$tmp/out/tofu" ./cmd/tofu) >&2
  mv "$tmp/out" "$DIR"
  echo "tofu: built in $((SECONDS - start)) s" >&2
fi
exec "$BIN" "$@"
