#!/bin/sh
# Runs inside the candidate image, as its command. Exit 0: promote; anything else: refuse.
# Write only to stdout/stderr: the run's log is where the result is read
# (az acr task logs -r <base-artifacts registry> --run-id <id>, help/operations.md "Reading a run").
set -eu

fail() { echo "acr-gate test: FAIL: $*" >&2; exit 1; }
pass() { echo "acr-gate test: ok: $*"; }

# 1. The image starts and is the platform we build for (64-bit x86: `uname -m` says x86_64 for
#    i386 userlands too, so the word size is checked as well where getconf exists).
arch="$(uname -m 2>/dev/null || echo unknown)"
[ "$arch" = "x86_64" ] || fail "architecture ${arch}, want x86_64 (ACR Tasks build linux/amd64)"
if command -v getconf > /dev/null 2>&1; then [ "$(getconf LONG_BIT)" = "64" ] || fail "a 32-bit userland on x86_64"; fi
pass "runs on $(uname -s) $arch"
if [ -r /etc/os-release ]; then pass "$(grep '^PRETTY_NAME=' /etc/os-release | cut -d= -f2- | tr -d '"')"; fi

# 2. What the apps need from it. The walkthrough's apps are Node.js: the runtime starts, loads its
#    core modules and serves HTTP on the loopback interface. Replace or extend for your images.
if command -v node > /dev/null 2>&1; then
  pass "node $(node --version)"
  node -e '
    const http = require("http");
    const server = http.createServer((req, res) => res.end("ok"));
    server.listen(0, "127.0.0.1", () => {
      http.get({ host: "127.0.0.1", port: server.address().port }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => { server.close(); process.exit(body === "ok" ? 0 : 1); });
      }).on("error", () => process.exit(1));
    });
    setTimeout(() => process.exit(1), 10000);
  ' || fail "node cannot serve HTTP on 127.0.0.1"
  pass "node serves HTTP"
elif command -v python3 > /dev/null 2>&1; then
  python3 -c 'import ssl, json, sqlite3' || fail "python3 lacks ssl, json or sqlite3"
  pass "$(python3 --version)"
else
  fail "neither node nor python3 in the image: write the test for what this image is for"
fi

# 3. What the image says about itself (optional): each line NAME=value1|value2 of expect.env,
#    beside this script in the test context, names the values the image's environment may have
#    (an upstream that changes BACKGROUND_COLOR, NODE_VERSION or JAVA_VERSION unannounced fails).
expect="$(dirname "$0")/expect.env"
if [ -r "$expect" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    name="${line%%=*}"
    allowed="${line#*=}"
    case "$name" in ''|*[!A-Za-z0-9_]*) fail "expect.env: [$line] is not NAME=value1|value2" ;; esac
    value="$(env | sed -n "s/^$name=//p" | head -n 1)"
    case "|$allowed|" in
      *"|$value|"*) pass "$name=$value" ;;
      *) fail "$name is [$value], allowed: $allowed" ;;
    esac
  done < "$expect"
fi
