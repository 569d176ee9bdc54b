#!/usr/bin/env bash
# check-cdktn: prove that acr-gate synthesizes the same Terraform JSON on CDK Terrain (cdktn) as on
# cdktf, without changing a line of the app (help/cdk-terrain.md).
#
#   bash scripts/check-cdktn.sh        (npm run check-cdktn)
#
# 1. Copies the project (every file git tracks, plus untracked files git does not ignore, as they
#    are in the working tree; never node_modules, dist, cdktf.out or .git) into a scratch directory.
# 2. Rewrites the copy's package.json to the CDK Terrain recipe: cdktf -> npm:cdktn@0.24.0,
#    @cdktf/provider-azurerm -> npm:@cdktn/provider-azurerm@16.1.0, constructs 10.7.2 (the newest
#    version in cdktn's peer range >=10.6.0 <10.8.0), @cdktf/provider-time 11.0.1 kept
#    (@cdktn/provider-time is not published), cdktf-cli dropped (it depends on exactly cdktf 0.21.0
#    and constructs 10.4.2, which would put a second CDK in the tree; cdktn-cli needs Node >= 22.19).
#    Installs with `npm install --legacy-peer-deps` (the bindings' peer is cdktn ^0.23.0, which is not
#    published), then links node_modules/cdktn -> cdktf: the CDK Terrain bindings require("cdktn") by
#    its own name, and a second copy of cdktn would break instanceof checks.
# 3. Builds the copy (npm run build) and synthesizes the default config and every examples/*.yaml
#    with it; synthesizes the same config files with this project's own build (cdktf; dist/ is built
#    first only if dist/main.js is missing).
# 4. Compares every stack file pairwise after parsing and re-serializing the JSON (cdktf prints an
#    empty object or array as "{\n}", cdktn as "{}") and blanking the CDK version in the "//" metadata
#    block. Nothing else is normalized. Checks that every cdktn stack pins
#    terraform.required_providers.azurerm.version to the cdktf stack's value.
#
# Closing line: "check-cdktn: N stacks identical, M differ". Exit 1 if M > 0, if a pin differs, or if
# any step fails (the error names the step).
#
# Environment:
#   ACR_GATE_CDKTN_CACHE=DIR   reuse node_modules from an earlier run, keyed by the hash of the
#                              rewritten package.json and the project's package-lock.json (CI: unset)
#   ACR_GATE_KEEP_WORK=1       keep the scratch directory (its path is printed)
#   ACR_GATE_CDKTN_DIFF_LINES  lines of unified diff printed per differing stack (default 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CDKTN_VERSION=0.24.0
AZURERM_BINDINGS_VERSION=16.1.0
CONSTRUCTS_VERSION=10.7.2
TIME_BINDINGS_VERSION=11.0.1
DIFF_LINES="${ACR_GATE_CDKTN_DIFF_LINES:-120}"

log() { printf 'check-cdktn: %s\n' "$*" >&2; }
warn() { printf 'check-cdktn: WARNING: %s\n' "$*" >&2; }
# die STEP MESSAGE: the last line names the step that failed.
die() {
  local step="$1"
  shift
  printf 'check-cdktn: ERROR: step "%s" failed%s\n' "$step" "${1:+: $*}" >&2
  exit 1
}
# show_log FILE [LINES]: the tail of a step's log, indented.
show_log() { tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2; }

start=$SECONDS
now() { printf '%d' $((SECONDS - start)); }

command -v node >/dev/null || die preflight "node is not on PATH"
command -v npm >/dev/null || die preflight "npm is not on PATH"
command -v git >/dev/null || die preflight "git is not on PATH"
[[ -d "$ROOT/node_modules" ]] || die preflight "$ROOT/node_modules is missing: run 'npm ci' first (the cdktf side uses it)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/acr-gate-cdktn.XXXXXX")"
bg_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$bg_pid" ]]; then kill "$bg_pid" 2>/dev/null || true; wait "$bg_pid" 2>/dev/null || true; fi
  if [[ "${ACR_GATE_KEEP_WORK:-0}" == 1 ]]; then
    log "kept the scratch directory $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SRC="$WORK/src"          # the copy, built with cdktn
OUT="$WORK/out"          # $OUT/{cdktn,cdktf}/<config label>/stacks/<stack>/cdk.tf.json
mkdir -p "$SRC" "$OUT/cdktn" "$OUT/cdktf"
log "node $(node --version), npm $(npm --version); scratch directory $WORK"

# --- 1. copy ------------------------------------------------------------------------------------
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) >"$WORK/files" \
  || die copy "git ls-files failed in $ROOT"
node - "$ROOT" "$SRC" "$WORK/files" "$WORK/copied" <<'EOF' || die copy "copying the sources failed"
// Copy each listed file that exists in the working tree (a file deleted but not yet committed is
// skipped); never anything under node_modules/, dist/, cdktf.out/ or .git/.
const fs = require("fs");
const path = require("path");
const [root, dest, list, copied] = process.argv.slice(2);
const skip = /^(node_modules|dist|cdktf\.out|\.git)(\/|$)/;
const names = [];
for (const f of new Set(fs.readFileSync(list, "utf8").split("\0").filter(Boolean))) {
  if (skip.test(f)) continue;
  let st;
  try {
    st = fs.lstatSync(path.join(root, f));
  } catch {
    continue;
  }
  if (st.isDirectory()) continue; // a submodule or a nested repository
  fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
  fs.cpSync(path.join(root, f), path.join(dest, f), { preserveTimestamps: true, verbatimSymlinks: true });
  names.push(f);
}
fs.writeFileSync(copied, names.join("\n") + "\n");
EOF
log "copied $(wc -l <"$WORK/copied") files of $ROOT ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo 'no commit'), $(cd "$ROOT" && git status --porcelain --untracked-files=normal | wc -l) uncommitted changes)"

# --- 2. rewrite package.json --------------------------------------------------------------------
cp "$SRC/package.json" "$WORK/package.json.orig"
cp "$SRC/package-lock.json" "$WORK/package-lock.json.orig"
node - "$SRC/package.json" "$CDKTN_VERSION" "$AZURERM_BINDINGS_VERSION" "$CONSTRUCTS_VERSION" "$TIME_BINDINGS_VERSION" <<'EOF' \
  || die "rewrite package.json"
const fs = require("fs");
const [file, cdktn, azurerm, constructs, time] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
const deps = pkg.dependencies || {};
for (const name of ["cdktf", "@cdktf/provider-azurerm", "constructs"]) {
  if (!(name in deps)) throw new Error(`package.json has no dependency ${name}`);
}
if (deps["@cdktf/provider-time"] !== time) {
  throw new Error(`expected @cdktf/provider-time ${time}, package.json has ${deps["@cdktf/provider-time"]}`);
}
deps["cdktf"] = `npm:cdktn@${cdktn}`;
deps["@cdktf/provider-azurerm"] = `npm:@cdktn/provider-azurerm@${azurerm}`;
deps["constructs"] = constructs;
if (pkg.devDependencies) delete pkg.devDependencies["cdktf-cli"];
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
EOF
log "package.json: cdktf -> npm:cdktn@$CDKTN_VERSION, @cdktf/provider-azurerm -> npm:@cdktn/provider-azurerm@$AZURERM_BINDINGS_VERSION, constructs $CONSTRUCTS_VERSION, @cdktf/provider-time $TIME_BINDINGS_VERSION, no cdktf-cli"

# --- 3. the cdktf side, in the background while the cdktn side installs --------------------------
configs=(default)
shopt -s nullglob
for f in "$SRC"/examples/*.yaml; do configs+=("$f"); done
shopt -u nullglob
label_of() { if [[ "$1" == default ]]; then printf 'default'; else basename "$1" .yaml; fi; }

# synth_all SIDE APPDIR: synthesize every config with APPDIR's dist/main.js into $OUT/SIDE/<label>;
# a failed config is listed in $OUT/SIDE.failed. The config files are the copy's, on both sides.
# The app rejects ACR_GATE_* variables it does not know: it never sees this script's own.
synth_env=(env)
while IFS= read -r v; do
  if [[ "$v" == ACR_GATE_CDKTN_* ]]; then synth_env+=(-u "$v"); fi
done < <(compgen -e)

synth_all() {
  local side="$1" appdir="$2" cfg label out
  : >"$OUT/$side.failed"
  for cfg in "${configs[@]}"; do
    label="$(label_of "$cfg")"
    out="$OUT/$side/$label"
    if [[ "$cfg" == default ]]; then
      (cd "$appdir" && "${synth_env[@]}" -u ACR_GATE_CONFIG CDKTF_OUTDIR="$out" node dist/main.js) >"$out.log" 2>&1 \
        || { printf '%s\n' "$label" >>"$OUT/$side.failed"; continue; }
    else
      (cd "$appdir" && "${synth_env[@]}" ACR_GATE_CONFIG="$cfg" CDKTF_OUTDIR="$out" node dist/main.js) >"$out.log" 2>&1 \
        || { printf '%s\n' "$label" >>"$OUT/$side.failed"; continue; }
    fi
  done
}

cdktf_side() {
  local t=$SECONDS
  if [[ ! -f "$ROOT/dist/main.js" ]]; then
    log "$ROOT/dist/main.js is missing: npm run build there"
    (cd "$ROOT" && npm run --silent build) >"$OUT/cdktf-build.log" 2>&1 || { echo build >"$OUT/cdktf.status"; return 0; }
  fi
  synth_all cdktf "$ROOT"
  echo "ok $((SECONDS - t))" >"$OUT/cdktf.status"
}

# The cdktf side runs the project's last build: say so if a source is newer than it.
if [[ -f "$ROOT/dist/.build-stamp" ]]; then
  stale="$(cd "$ROOT" && find main.ts tsconfig.json tsconfig.build.json package-lock.json lib constructs app \
    -maxdepth 1 -newer dist/.build-stamp \( -name '*.ts' -o -name '*.json' \) 2>/dev/null | sort)"
  if [[ -n "$stale" ]]; then
    n="$(wc -l <<<"$stale")"
    names="$(head -n 5 <<<"$stale" | tr '\n' ' ')"
    [[ "$n" -le 5 ]] || names+="and $((n - 5)) more "
    warn "$ROOT/dist is older than ${names% }: the cdktf side runs that build, the cdktn side the sources as they are now"
  fi
fi
cdktf_side &
bg_pid=$!

# --- 4. install the cdktn side ------------------------------------------------------------------
hash_of() { node -e 'const c=require("crypto").createHash("sha256");for(const f of process.argv.slice(1))c.update(require("fs").readFileSync(f));process.stdout.write(c.digest("hex").slice(0,16))' "$@"; }
# copy_tree FROM TO: hard links when FROM and TO share a file system (instant), a copy otherwise.
copy_tree() { cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }

CACHE="${ACR_GATE_CDKTN_CACHE:-}"
key="$(printf '%s' "$(hash_of "$SRC/package.json" "$SRC/package-lock.json")-$(uname -s)-$(uname -m)" | tr '[:upper:]' '[:lower:]')"
t1=$SECONDS
if [[ -n "$CACHE" && -d "$CACHE/$key/node_modules" ]]; then
  log "install: node_modules from the cache $CACHE/$key"
  copy_tree "$CACHE/$key/node_modules" "$SRC/node_modules" || die "install (cache)" "cannot copy $CACHE/$key/node_modules"
  cp "$CACHE/$key/package-lock.json" "$SRC/package-lock.json"
else
  log "install: npm install --legacy-peer-deps --no-audit --no-fund${CACHE:+ (cache miss: $key)}"
  (cd "$SRC" && npm install --legacy-peer-deps --no-audit --no-fund) >"$WORK/install.log" 2>&1 \
    || { show_log "$WORK/install.log"; die "npm install (cdktn)" "see the log above"; }
fi
# The bindings require("cdktn"): the same package as the aliased cdktf, not a second copy.
if [[ -L "$SRC/node_modules/cdktn" ]]; then
  :
elif [[ -e "$SRC/node_modules/cdktn" ]]; then
  die "link node_modules/cdktn" "node_modules/cdktn exists and is not a link (a second copy of cdktn)"
else
  ln -s cdktf "$SRC/node_modules/cdktn" || die "link node_modules/cdktn"
fi
t_install=$((SECONDS - t1))

# Check the installed tree: the exact versions, one cdktn, one constructs, no cdktf.
node - "$SRC" "$CDKTN_VERSION" "$AZURERM_BINDINGS_VERSION" "$CONSTRUCTS_VERSION" "$TIME_BINDINGS_VERSION" >"$WORK/versions" <<'EOF' \
  || { cat "$WORK/versions" >&2; die "check the installed packages"; }
const fs = require("fs");
const path = require("path");
const [src, cdktn, azurerm, constructs, time] = process.argv.slice(2);
const nm = path.join(src, "node_modules");
const pkgAt = (p) => JSON.parse(fs.readFileSync(path.join(nm, p, "package.json"), "utf8"));
const problems = [];
const expect = (dir, name, version) => {
  const p = pkgAt(dir);
  if (p.name !== name || p.version !== version) problems.push(`node_modules/${dir} is ${p.name}@${p.version}, expected ${name}@${version}`);
  return `${dir === name ? name : `${dir} = ${p.name}`}@${p.version}`;
};
const lines = [
  expect("cdktf", "cdktn", cdktn),
  expect("@cdktf/provider-azurerm", "@cdktn/provider-azurerm", azurerm),
  expect("@cdktf/provider-time", "@cdktf/provider-time", time),
  expect("constructs", "constructs", constructs),
];
if (fs.realpathSync(path.join(nm, "cdktn")) !== fs.realpathSync(path.join(nm, "cdktf"))) problems.push("node_modules/cdktn does not resolve to node_modules/cdktf");
// Any further copy of a CDK or of constructs anywhere in the tree.
const extra = [];
const walk = (dir, depth) => {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    const d = path.join(dir, e.name);
    if (e.name.startsWith("@")) {
      walk(d, depth);
      continue;
    }
    if (depth > 0 && ["cdktf", "cdktn", "constructs"].includes(e.name)) extra.push(path.relative(src, d));
    walk(path.join(d, "node_modules"), depth + 1);
  }
};
walk(nm, 0);
if (extra.length) problems.push(`second copies: ${extra.join(", ")}`);
let pin = "?";
try {
  const m = /providerVersion: '([^']+)'/.exec(fs.readFileSync(path.join(nm, "@cdktf/provider-azurerm/lib/provider/index.js"), "utf8"));
  if (m) pin = m[1];
} catch {}
console.log(lines.join(", ") + `; node_modules/cdktn -> cdktf; the azurerm bindings' own pin: ${pin}`);
for (const p of problems) console.log("problem: " + p);
process.exit(problems.length ? 1 : 0);
EOF
log "installed in ${t_install} s: $(cat "$WORK/versions")"

if [[ -n "$CACHE" && ! -d "$CACHE/$key/node_modules" ]]; then
  mkdir -p "$CACHE"
  tmp="$CACHE/.tmp-$key-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if copy_tree "$SRC/node_modules" "$tmp/node_modules" && cp "$SRC/package-lock.json" "$tmp/package-lock.json" \
    && mv -T "$tmp" "$CACHE/$key" 2>/dev/null; then
    log "install: cached node_modules as $CACHE/$key"
  else
    rm -rf "$tmp"
    warn "could not write the cache $CACHE/$key"
  fi
fi

# --- 5. build and synthesize the cdktn side -----------------------------------------------------
t2=$SECONDS
(cd "$SRC" && npm run build) >"$WORK/build.log" 2>&1 || {
  show_log "$WORK/build.log"
  die "npm run build (cdktn)" "$(grep -c 'error TS' "$WORK/build.log" || true) TypeScript errors"
}
t_build=$((SECONDS - t2))
t3=$SECONDS
synth_all cdktn "$SRC"
t_synth=$((SECONDS - t3))

wait "$bg_pid" || true
bg_pid=""
read -r cdktf_status t_cdktf <"$OUT/cdktf.status" 2>/dev/null || cdktf_status=none
case "$cdktf_status" in
  ok) ;;
  build) show_log "$OUT/cdktf-build.log"; die "npm run build (cdktf, $ROOT)" ;;
  *) die "synth (cdktf)" "the background job did not finish" ;;
esac
log "built the cdktn side in ${t_build} s; synthesized ${#configs[@]} configs: cdktn ${t_synth} s, cdktf ${t_cdktf} s (alongside the install)"

failed_steps=()
for side in cdktf cdktn; do
  while IFS= read -r label; do
    [[ -n "$label" ]] || continue
    show_log "$OUT/$side/$label.log" 20
    failed_steps+=("synth ($side) of $label")
  done <"$OUT/$side.failed"
done

# --- 6. compare ---------------------------------------------------------------------------------
cat >"$WORK/compare.cjs" <<'EOF'
// node compare.cjs OUT DIFFDIR: pairs $OUT/cdktf/<label>/stacks/<stack>/cdk.tf.json with the cdktn
// one, normalizes both, prints what differs; last stdout line: "<identical> <differ> <pin problems>".
const fs = require("fs");
const path = require("path");
const [out, diffDir] = process.argv.slice(2);

function stackFiles(side) {
  const files = new Map();
  const base = path.join(out, side);
  for (const label of fs.readdirSync(base).sort()) {
    const stacks = path.join(base, label, "stacks");
    if (!fs.statSync(path.join(base, label)).isDirectory() || !fs.existsSync(stacks)) continue;
    for (const stack of fs.readdirSync(stacks).sort()) {
      const f = path.join(stacks, stack, "cdk.tf.json");
      if (fs.existsSync(f)) files.set(`${label}/${stack}`, f);
    }
  }
  return files;
}

// The two known differences: the CDK's own version in the "//" metadata block, and the printing of
// empty objects and arrays (gone once parsed). Everything else stays, key order included.
function normalize(file) {
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  const meta = json["//"] && json["//"].metadata;
  if (meta && typeof meta === "object" && "version" in meta) meta.version = "<cdk version>";
  return json;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

// The first JSON paths where a and b differ (values, not key order).
function diffPaths(a, b, p, acc, max) {
  if (acc.length >= max) return;
  const obj = (v) => v !== null && typeof v === "object";
  if (obj(a) && obj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a) ? [...Array(Math.max(a.length, b.length)).keys()] : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const q = Array.isArray(a) ? `${p}[${k}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${p}.${k}` : `${p}[${JSON.stringify(k)}]`;
      if (!(k in a)) acc.push(`${q}: only with cdktn: ${JSON.stringify(b[k]).slice(0, 120)}`);
      else if (!(k in b)) acc.push(`${q}: only with cdktf: ${JSON.stringify(a[k]).slice(0, 120)}`);
      else diffPaths(a[k], b[k], q, acc, max);
      if (acc.length >= max) return;
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    acc.push(`${p}: cdktf ${JSON.stringify(a).slice(0, 120)}, cdktn ${JSON.stringify(b).slice(0, 120)}`);
  }
}

const pinOf = (j) => j && j.terraform && j.terraform.required_providers && j.terraform.required_providers.azurerm
  ? j.terraform.required_providers.azurerm.version : undefined;

const cdktf = stackFiles("cdktf");
const cdktn = stackFiles("cdktn");
let identical = 0;
let differ = 0;
let pinProblems = 0;
const pins = new Map();
for (const name of [...new Set([...cdktf.keys(), ...cdktn.keys()])].sort()) {
  if (!cdktf.has(name) || !cdktn.has(name)) {
    console.log(`DIFFER ${name}: written only by ${cdktf.has(name) ? "cdktf" : "cdktn"}`);
    differ++;
    if (!cdktn.has(name)) pinProblems++;
    continue;
  }
  const a = normalize(cdktf.get(name));
  const b = normalize(cdktn.get(name));
  const pa = pinOf(a);
  const pb = pinOf(b);
  if (pb === undefined || pa !== pb) {
    console.log(`PIN ${name}: terraform.required_providers.azurerm.version is ${JSON.stringify(pb)} with cdktn, ${JSON.stringify(pa)} with cdktf`);
    pinProblems++;
  } else {
    pins.set(pb, (pins.get(pb) || 0) + 1);
  }
  const ta = JSON.stringify(a, null, 2) + "\n";
  const tb = JSON.stringify(b, null, 2) + "\n";
  if (ta === tb) {
    identical++;
    continue;
  }
  differ++;
  const orderOnly = JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  const paths = [];
  diffPaths(a, b, "$", paths, 20);
  console.log(`DIFFER ${name}${orderOnly ? " (key order only)" : `: first differing paths:\n  ${paths.join("\n  ")}`}`);
  const base = path.join(diffDir, name.replace(/\//g, "__"));
  fs.writeFileSync(`${base}.cdktf.json`, ta);
  fs.writeFileSync(`${base}.cdktn.json`, tb);
  console.log(`DIFFFILES ${base}.cdktf.json ${base}.cdktn.json`);
}
for (const [pin, n] of pins) console.log(`PINOK ${pin} ${n}`);
console.log(`${identical} ${differ} ${pinProblems}`);
EOF
mkdir -p "$WORK/diff"
node "$WORK/compare.cjs" "$OUT" "$WORK/diff" >"$WORK/compare.out" 2>"$WORK/compare.err" \
  || { show_log "$WORK/compare.err"; die compare; }
read -r identical differ pin_problems < <(tail -n 1 "$WORK/compare.out")

pins_ok=()
while IFS= read -r line; do
  case "$line" in
    "DIFFFILES "*)
      read -r _ fa fb <<<"$line"
      diff -u --label "cdktf/${fa##*/}" --label "cdktn/${fb##*/}" "$fa" "$fb" | head -n "$DIFF_LINES" | sed 's/^/    /' || true
      ;;
    "PINOK "*)
      read -r _ pin n <<<"$line"
      pins_ok+=("$pin ($n stacks)")
      ;;
    "DIFFER "* | "PIN "* | "  "*) printf 'check-cdktn: %s\n' "$line" ;;
    *) ;;
  esac
done < <(sed '$d' "$WORK/compare.out")

if [[ ${#pins_ok[@]} -gt 0 ]]; then
  log "terraform.required_providers.azurerm.version, the same with cdktn as with cdktf: ${pins_ok[*]}"
fi
[[ "$pin_problems" == 0 ]] || failed_steps+=("azurerm pin ($pin_problems stacks)")

# The sources may have changed while this ran (the copy is a snapshot; the cdktf side runs dist/).
changed="$(node -e '
const fs=require("fs"),path=require("path");const [root,src,list,work]=process.argv.slice(1);const out=[];
for(const f of fs.readFileSync(list,"utf8").split("\n").filter(Boolean)){let a=null,b=null;
const orig={"package.json":"package.json.orig","package-lock.json":"package-lock.json.orig"}[f];
try{a=fs.readFileSync(path.join(root,f))}catch{}try{b=fs.readFileSync(orig?path.join(work,orig):path.join(src,f))}catch{}
if(!a||!b||!a.equals(b))out.push(f)}
console.log(out.join(" "))' "$ROOT" "$SRC" "$WORK/copied" "$WORK")"
[[ -z "$changed" ]] || warn "changed in $ROOT since the copy was taken: $changed"
if [[ "${ACR_GATE_KEEP_WORK:-0}" != 1 && "$differ" != 0 ]]; then
  log "ACR_GATE_KEEP_WORK=1 keeps the normalized files of the differing stacks"
fi

if [[ ${#failed_steps[@]} -gt 0 ]]; then
  joined="$(printf '%s; ' "${failed_steps[@]}")"
  printf 'check-cdktn: FAILED: %s\n' "${joined%; }" >&2
fi
log "took $(now) s"
printf 'check-cdktn: %d stacks identical, %d differ\n' "$identical" "$differ"
[[ "$differ" == 0 && ${#failed_steps[@]} == 0 ]]
