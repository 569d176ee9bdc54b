#!/usr/bin/env bash
# npm run lint-ci: lint the pipelines in examples/ci/ with actionlint (rhysd/actionlint, built
# from the Go module proxy into ~/.cache/acr-gate/bin on first use, about 10 s).
# Closing line: "lint-ci: N workflows, M problems", or "lint-ci: skipped: <why>" (exit 0) without
# Go; ACR_GATE_REQUIRE_TOOLS=1 (.ci/run) makes that a failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=v1.7.12
BIN="${ACR_GATE_CACHE_DIR:-$HOME/.cache/acr-gate}/bin/actionlint-$VERSION"

if [[ ! -x "$BIN" ]]; then
  go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  if [[ ! -x "$go" ]]; then
    if [[ "${ACR_GATE_REQUIRE_TOOLS:-0}" == 1 ]]; then echo "lint-ci: failed: no Go toolchain to build actionlint $VERSION"; exit 1; fi
    echo "lint-ci: skipped: no Go toolchain to build actionlint $VERSION (set GO=/path/to/go)"; exit 0
  fi
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/acr-gate-actionlint.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "lint-ci: building actionlint $VERSION with $("$go" version)" >&2
  (cd "$tmp" && GOBIN="$tmp/bin" GOFLAGS=-mod=mod "$go" install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION") >&2
  mkdir -p "$(dirname "$BIN")"
  mv "$tmp/bin/actionlint" "$BIN"
fi

files=("$ROOT"/examples/ci/*.yml)
status=0
out="$("$BIN" -no-color "${files[@]}" 2>&1)" || status=$?
[[ -n "$out" ]] && printf '%s\n' "$out"
problems=$(printf '%s' "$out" | grep -c '^[^ ].*:[0-9]*:[0-9]*: ' || true)
echo "lint-ci: ${#files[@]} workflows, $problems problems (actionlint $VERSION)"
exit "$status"
