#!/usr/bin/env node
// The worker of scripts/acb-check.sh: runs every generated ACR task file of some synthesized
// stacks through Azure's own task engine (acb, `exec --dry-run`, offline) and checks the docker
// command lines it prints against what the task is for. Read acb-check.sh first.
//
//   node scripts/lib-acb.cjs --acb PATH --work DIR [--timeout SEC] [--failed N] ENTRY...
//     ENTRY  "WHERE|CONFIG|FILE": WHERE names the stack in messages, FILE is its cdk.tf.json,
//            CONFIG is "" (none), "default" (the built-in config) or a config file; with a
//            config, the expected scan mode and test of each gate come from it (needs dist/).
//     --failed N  failures found before (synth), added to the closing count
//
// Prints one line per task, indented reasons under a FAIL, then exactly
// "acb-check: N tasks checked, M steps checked, F failed"; exits 1 when F > 0.
//
// What acb is and is not: /work/shared/tools/acb/README.md. In short: only `exec --dry-run`,
// only under `unshare -n` (no network), never with a `secrets:` list (acb would wait on Key
// Vault). acb renders the file (Go templates, `$aliases`), resolves aliases to images, builds
// the `when` graph and prints, per step, the `docker run` it would start
// ("[DRY RUN] Args: [...]"). It never runs them: what a step's program does with its
// arguments is not checked here, only what it is given.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..');
const TAG = 'acb-check';
const RUN_ID = 'run1';
/** Secret references become this prefix + the secret id, so a deploy argument still says which secret it was. */
const SECRET_PREFIX = 'acb-check-secret-';

// Terraform JSON and the task file as acb may receive it: app/task-inputs.ts (through dist/),
// shared with `npm run lab`. Secret references become SECRET_PREFIX + the secret id.
const { Tf, templateParts, withoutSecrets, secretsOf } = require(path.join(ROOT, 'dist', 'app', 'task-inputs.js'));
const prepareTaskFile = (text) => withoutSecrets(text, (id) => SECRET_PREFIX + id);

// ---------------------------------------------------------------------------------------------
// acb's log.

const STAMP = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /;
/** Records whose continuation lines are task data (the file, a heredoc in a command), not acb's words. */
const DATA_RECORD = /^(Processed task before rendering data:|Rendered template:|\[DRY RUN\] Args: |Step args: |Scan args: )/;
/** Words acb uses when something went wrong (checked outside data records). */
const ERROR_WORDS = /\b(error|errors|err|fail|failed|failure|fatal|panic|unable|cannot|invalid|denied|timed out)\b/i;

/** Go's log lines with their continuation lines: [{i, text, lines}]. */
function records(log) {
  const out = [];
  for (const line of log.split('\n')) {
    if (STAMP.test(line)) out.push({ text: line.replace(STAMP, ''), more: [] });
    else if (out.length) out[out.length - 1].more.push(line);
    else if (line.trim()) out.push({ text: line, more: [], unstamped: true });
  }
  return out.map((r, i) => ({ i, text: r.text, more: r.more, unstamped: r.unstamped }));
}

/** Splits a /bin/sh -c command line into words as the host shell would (no expansions). */
function shellWords(s) {
  const words = [];
  let cur = '', started = false, meta = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) throw new Error('unterminated single quote');
      cur += s.slice(i + 1, j); started = true; i = j;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && '$`"\\\n'.includes(s[j + 1])) cur += s[++j];
        else { if (s[j] === '$' || s[j] === '`') meta.push(s[j]); cur += s[j]; }
      }
      if (j >= s.length) throw new Error('unterminated double quote');
      started = true; i = j;
    } else if (c === '\\') { cur += s[++i] || ''; started = true; }
    else if (/\s/.test(c)) { if (started) words.push(cur); cur = ''; started = false; }
    else { if ('$`;|&<>()'.includes(c)) meta.push(c); cur += c; started = true; }
  }
  if (started) words.push(cur);
  return { words, meta };
}

const RUN_BOOL_FLAGS = new Set(['--rm', '--detach', '-d', '--privileged', '--init', '-i', '-t', '--interactive', '--tty']);

/** `docker run [opts] IMAGE ARGS...` -> {name, volumes, workdir, entrypoint, image, args}. */
function parseDockerRun(words) {
  if (words[0] !== 'docker' || words[1] !== 'run') return undefined;
  const r = { volumes: [], env: [], image: undefined, args: [] };
  let i = 2;
  for (; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith('-')) break;
    if (RUN_BOOL_FLAGS.has(w)) continue;
    let flag = w, value;
    if (w.includes('=')) [flag, value] = [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)];
    else value = words[++i];
    if (flag === '--volume' || flag === '-v') {
      const k = value.indexOf(':');
      // "SRC:DST[:opts]"; acb's workspace mount is ":/workspace" in a dry run (its source is the run's context dir).
      const [dst] = value.slice(k + 1).split(':');
      r.volumes.push({ src: value.slice(0, k), dst: path.posix.normalize(dst) });
    } else if (flag === '--name') r.name = value;
    else if (flag === '--workdir' || flag === '-w') r.workdir = value;
    else if (flag === '--entrypoint') r.entrypoint = value;
    else if (flag === '--env' || flag === '-e') r.env.push(value);
  }
  r.image = words[i];
  r.args = words.slice(i + 1);
  return r;
}

/** Values of an option in an argument list: `--x v`, `--x=v` (every occurrence). */
function opt(args, ...names) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    for (const n of names) {
      if (args[i] === n && i + 1 < args.length) out.push(args[i + 1]);
      else if (args[i].startsWith(n + '=')) out.push(args[i].slice(n.length + 1));
    }
  }
  return out;
}

/** `az ... --flag v1 v2 --other ...`: every value up to the next `--flag` (az takes lists that way). */
function azOptions(args) {
  const o = new Map();
  let cur;
  for (const a of args) {
    if (/^--[a-z]/.test(a)) { cur = a; if (!o.has(cur)) o.set(cur, []); }
    else if (cur) o.get(cur).push(a);
  }
  return o;
}

const BUILD_BOOL_FLAGS = new Set(['--pull', '--no-cache', '--rm', '--force-rm', '-q', '--quiet', '--squash', '--compress']);
/** The positional context of `docker build` args. */
function buildContext(args) {
  const pos = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('-') && a !== '-') { if (!BUILD_BOOL_FLAGS.has(a) && !a.includes('=')) i++; }
    else pos.push(a);
  }
  return pos[pos.length - 1];
}

/** An absolute container path as (volume source, path inside the volume), or undefined if on no volume. */
function onVolume(run, p) {
  let best;
  for (const v of run.volumes) {
    if (p === v.dst || p.startsWith(v.dst.endsWith('/') ? v.dst : v.dst + '/')) {
      if (!best || v.dst.length > best.dst.length) best = v;
    }
  }
  return best ? { src: best.src, dst: best.dst, rel: path.posix.relative(best.dst, p) } : undefined;
}
const volName = (v) => (v.src === '' ? `the run's workspace (${v.dst})` : `volume ${v.src} (${v.dst})`);
/** `name:tag@sha256:<64 hex>`: the tag says what it is, the digest what it is exactly. */
function pinned(image) {
  const [name, digest, extra] = String(image).split('@');
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return extra === undefined && /^sha256:[0-9a-f]{64}$/.test(digest || '') && /^[\w][\w.-]{0,127}$/.test(tag);
}
const within = (rel, dir) => dir === '' || rel === dir || rel.startsWith(dir + '/');

function absPath(run, p) {
  if (path.posix.isAbsolute(p)) return path.posix.normalize(p);
  return run.workdir ? path.posix.resolve(run.workdir, p) : undefined;
}

// ---------------------------------------------------------------------------------------------
// One task.

function runAcb(acb, args, timeoutMs) {
  // Only ever `exec --dry-run`: anything else would start Docker (acb README).
  if (args[0] !== 'exec' || !args.includes('--dry-run')) throw new Error('acb may only run with exec --dry-run');
  const r = spawnSync('unshare', ['-n', acb, ...args], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  return r;
}

/**
 * @returns {{kind, steps: number, problems: string[], notes: string[]}}
 */
function checkTask(ctx, t) {
  const { tf, acb, workDir, timeoutMs, expect } = ctx;
  const problems = [];
  const notes = [];
  const original = Buffer.from(t.encoded_step.task_content, 'base64').toString('utf8');
  const secrets = secretsOf(original);
  const taskText = prepareTaskFile(original);
  if (/\.Secrets\b/.test(taskText)) problems.push('a secret reference of a form this check cannot replace is left in the task file');
  const values = {};
  for (const [k, v] of Object.entries(t.encoded_step.values || {})) values[k] = tf.str(v);
  const registry = tf.loginServer(t);
  const result = { kind: 'task', steps: 0, problems, notes };
  if (!registry) {
    problems.push(`cannot tell the login server of the task's registry from container_registry_id ${JSON.stringify(t.container_registry_id)}`);
    return result;
  }
  fs.mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, 'task.yaml');
  const valuesFile = path.join(workDir, 'values.yaml');
  fs.writeFileSync(file, taskText);
  // JSON strings are YAML double-quoted scalars: every value stays a string.
  fs.writeFileSync(valuesFile, Object.entries(values).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(''));

  // --debug adds the rendered file (for the `when` graph) and keeps the [DRY RUN] lines.
  const r = runAcb(acb, ['exec', '--dry-run', '--debug', '-f', file, '--values', valuesFile, '--registry', registry, '--id', RUN_ID], timeoutMs);
  const log = `${r.stderr || ''}${r.stdout || ''}`;
  fs.writeFileSync(path.join(workDir, 'acb.log'), log);
  if (r.error && r.error.code === 'ETIMEDOUT') {
    problems.push(`acb did not finish within ${timeoutMs / 1000} s (a secret or login it tries to resolve?); ACR_GATE_KEEP_WORK=1 keeps its log`);
    return result;
  }
  if (r.error) throw r.error;
  if (r.status !== 0) {
    // acb's reason is its last line (the lines before may be the task file it logged with --debug).
    problems.push(`acb exited ${r.status === null ? `on ${r.signal}` : r.status}: ${log.trim().split('\n').pop()}`);
    return result;
  }
  const recs = records(log);
  for (const rec of recs) {
    if (rec.unstamped || !DATA_RECORD.test(rec.text)) {
      for (const l of [rec.text, ...rec.more]) {
        if (ERROR_WORDS.test(l)) problems.push(`acb printed: ${l.trim()}`);
        else if (/\bWARNING\b/.test(l)) notes.push(`acb warned: ${l.trim()}`);
      }
    }
  }

  // The file acb runs (rendered, `$aliases` expanded) and its graph.
  const renderedRec = recs.find((x) => x.text.startsWith('Rendered template:'));
  let doc;
  try {
    doc = YAML.parse(renderedRec.more.join('\n'));
  } catch (e) {
    problems.push(`cannot read the rendered task file acb logged: ${renderedRec ? e.message : 'no "Rendered template:" in its log'}`);
    return result;
  }
  const steps = (doc && Array.isArray(doc.steps) ? doc.steps : []).map((s, i, all) => ({
    ...s,
    // ACR: no `when` means after the previous step; `when: ["-"]` means no dependency.
    deps: Array.isArray(s.when) ? s.when.filter((w) => w !== '-') : i > 0 ? [all[i - 1].id] : [],
  }));
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ancestors = (id, seen = new Set()) => {
    for (const d of (byId.get(id) || { deps: [] }).deps) if (!seen.has(d)) { seen.add(d); ancestors(d, seen); }
    return seen;
  };

  // The docker command line of every step, and when acb started and finished it.
  const runs = new Map(); // step id -> parsed `docker run` (push steps: one per image)
  const started = new Map(), finished = new Map(), pushedAt = new Map();
  for (const rec of recs) {
    let m;
    if ((m = /^Executing step ID: (.+?)\. Timeout/.exec(rec.text))) started.set(m[1], rec.i);
    else if ((m = /^Successfully executed container: (.+)$/.exec(rec.text))) finished.set(m[1].trim(), rec.i);
    else if ((m = /^Successfully pushed image: (.+)$/.exec(rec.text))) pushedAt.set(m[1].trim(), rec.i);
    else if ((m = /^\[DRY RUN\] Args: \[(.*)$/s.exec([rec.text, ...rec.more].join('\n')))) {
      const inner = m[1].replace(/\]\s*$/, '');
      let run;
      if (inner.startsWith('/bin/sh -c ')) {
        let sh;
        try {
          sh = shellWords(inner.slice('/bin/sh -c '.length));
        } catch (e) {
          problems.push(`cannot split a step's command line (${e.message}): ${inner}`);
          continue;
        }
        run = parseDockerRun(sh.words);
        if (run && sh.meta.length) {
          // acb 90b22f3 starts cmd and build steps through the host's /bin/sh: these would be
          // interpreted on the build agent, not inside the step's container.
          problems.push(`step ${run.name}: host-shell metacharacters ${JSON.stringify([...new Set(sh.meta)].join(''))} in its command line`);
        }
      } else run = parseDockerRun(inner.split(/\s+/)); // pushes, scanners: Go's %v of a []string
      if (!run) continue;
      run.raw = inner;
      if (run.args[0] === 'push') {
        for (const s of steps.filter((s) => Array.isArray(s.push) && s.push.includes(run.args[1]))) {
          if (!runs.has(s.id)) runs.set(s.id, []);
          runs.get(s.id).push(run);
        }
      } else if (byId.has(run.name)) runs.set(run.name, [run]);
    }
  }
  for (const s of steps) {
    if (!started.has(s.id)) problems.push(`acb did not run step ${s.id}`);
    else if (!runs.has(s.id)) problems.push(`acb printed no docker command for step ${s.id}`);
  }
  result.steps = [...runs.keys()].filter((id) => byId.has(id)).length;
  const doneAt = (id) => {
    const s = byId.get(id);
    if (s && Array.isArray(s.push)) return Math.max(...s.push.map((img) => pushedAt.get(img) ?? Infinity));
    return finished.get(id) ?? Infinity;
  };

  // What each step is, by what it does.
  const one = (id) => runs.get(id)[0];
  const ids = [...runs.keys()];
  const isDocker = (run) => /^(docker|buildx)(:[^/]*)?$/.test(run.image || '');
  // Script steps (lib/run-scripts.ts): a shell as entry point, the script in -c, values in --env.
  for (const id of ids) {
    const r = one(id);
    if (['sh', 'bash'].includes(r.entrypoint) && r.args[0] === '-c' && r.args.length === 2) {
      r.script = r.args[1];
      r.envMap = Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      // What the script pushes: `docker push "$X"`, X from its environment.
      r.pushes = [...r.script.matchAll(/docker push "\$([A-Z_]+)"/g)].map((m) => r.envMap[m[1]]);
    }
  }
  // Steps that run one command unless unchanged (lib/run-scripts.ts unlessUnchangedStep): read
  // as that command (`trivy image ...`, `docker save ...`, "$X" from its environment), with the
  // marker they skip on kept for the promotion check.
  for (const id of ids) {
    const r = one(id);
    const m = r.script !== undefined && /^if \[ -s (\S+) \]; then echo "[^"]*"; exit 0; fi; exec (.*)$/.exec(r.script);
    if (!m) continue;
    let words, meta;
    try {
      ({ words, meta } = shellWords(m[2]));
    } catch (e) {
      problems.push(`step ${id}: cannot split its command (${e.message})`);
      continue;
    }
    // One plain command: no second one, no redirection, nothing expanded but a whole "$NAME".
    const expansions = words.filter((w) => w.includes('$'));
    if (meta.some((c) => c !== '$') || expansions.some((w) => !/^\$[A-Z_]+$/.test(w) || r.envMap[w.slice(1)] === undefined)) {
      problems.push(`step ${id}: runs more than one plain command after its unchanged check: ${m[2]}`);
      continue;
    }
    // The program is the one the image stands for: `docker` in the docker image, Trivy elsewhere.
    if (words[0] !== (/^(docker|buildx)(:[^/]*)?$/.test(r.image || '') ? 'docker' : 'trivy')) problems.push(`step ${id}: runs ${words[0]} in ${r.image}`);
    r.skipsOn = m[1];
    r.execs = words[0];
    r.args = words.slice(1).map((w) => (/^\$[A-Z_]+$/.test(w) && r.envMap[w.slice(1)] !== undefined ? r.envMap[w.slice(1)] : w));
    r.script = undefined;
  }
  const builds = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === 'build');
  const saves = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === 'save');
  const pulls = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === 'pull');
  const scripts = ids.filter((id) => one(id).script !== undefined);
  // Each script must be one acr-gate writes, byte for byte (lib/run-scripts.ts, through dist/):
  // the graph checks below cannot see a `|| true` or a weakened trust policy inside one.
  const known = knownScripts();
  for (const id of scripts) {
    if (id === 'check-signer') continue; // the signer task's tool check, not a run-time decision
    if (!known.has(one(id).script)) problems.push(`step ${id}: its script is not one lib/run-scripts.ts writes (changed by hand, or dist/ is stale)`);
  }
  const scriptPushes = scripts.filter((id) => isDocker(one(id)) && one(id).pushes.length > 0);
  const pushes = [...ids.filter((id) => isDocker(one(id)) && one(id).args[0] === 'push'), ...scriptPushes];
  const deploys = ids.filter((id) => one(id).args[0] === 'container' && one(id).args[1] === 'create');
  // Evidence steps also read --input, but write a report (--output) and decide nothing.
  const scanLike = ids.filter((id) => !isDocker(one(id)) && opt(one(id).args, '--input', '--scanners').length > 0);
  const evidenceScans = scanLike.filter((id) => opt(one(id).args, '--output').length > 0);
  const scans = scanLike.filter((id) => !evidenceScans.includes(id));

  if (deploys.length) {
    result.kind = 'app';
    checkApp(ctx, t, { result, values, registry, secrets, steps, byId, ancestors, runs, deploys, pushes, builds, scripts, problems, notes, expectSigning: expect.signing, expectBase: expect.apps.get(t.name) });
  } else if (pushes.length && (pulls.length || saves.length || scans.length)) {
    result.kind = 'gate';
    checkGate(ctx, t, { result, steps, byId, ancestors, runs, builds, saves, scans, evidenceScans, pushes, scriptPushes, scripts, skippers: ids.filter((id) => one(id).skipsOn !== undefined), rawValues: (t.encoded_step && t.encoded_step.values) || {}, started, doneAt, problems, notes, expect: expect.gates.get(t.name), expectSigning: expect.signing });
  } else {
    result.summary = "neither a gate nor an app: only acb's own verdict checked";
  }
  // What the JSON or the config says the task is must match what its steps do.
  if (expect.gates.has(t.name) && result.kind !== 'gate') problems.push('the config has this gated image, but its steps are not pull, validate, push');
  if (values.ACI !== undefined && result.kind !== 'app') problems.push(`the task has an ACI value (${values.ACI}) but no \`az container create\` step`);
  return result;
}

function checkGate(ctx, t, g) {
  const { byId, ancestors, runs, builds, saves, scans, pushes, started, doneAt, problems, notes, expect } = g;
  const one = (id) => runs.get(id)[0];

  // 1. The functional test runs the image the test build tagged, after that build.
  const tests = [];
  for (const b of builds) {
    const tags = opt(one(b).args, '-t', '--tag');
    const runners = [...runs.keys()].filter((id) => id !== b && tags.includes(one(id).image));
    if (!runners.length) problems.push(`the test image ${tags.join(', ') || '(untagged)'} built by ${b} is never run: no functional test`);
    for (const id of runners) {
      if (!ancestors(id).has(b)) problems.push(`${id} runs ${one(id).image} without waiting for ${b}, which builds it`);
      tests.push(id);
    }
  }

  // 2. The scan reads the file the save step wrote, on a volume both mount, outside every build context.
  for (const s of scans) {
    const run = one(s);
    const input = opt(run.args, '--input')[0];
    if (!input) { problems.push(`${s} (${run.image}) has no --input: it does not scan the saved image`); continue; }
    const p = absPath(run, input);
    const at = p && onVolume(run, p);
    if (!at) { problems.push(`${s} reads ${input}, which is on no volume of its container (lost between steps)`); continue; }
    const writers = saves.filter((w) => {
      const out = opt(one(w).args, '-o', '--output')[0];
      const wp = out && absPath(one(w), out);
      const wat = wp && onVolume(one(w), wp);
      return wat && wat.src === at.src && wat.rel === at.rel;
    });
    if (!writers.length) problems.push(`${s} reads ${p} (${volName(at)}), which no \`docker save -o\` step writes there`);
    for (const w of writers) if (!ancestors(s).has(w)) problems.push(`${s} does not wait for ${w}, which writes its input`);
    for (const b of builds) {
      const brun = one(b);
      const c = buildContext(brun.args);
      const cp = c && c !== '-' ? absPath(brun, c) : undefined;
      const cat = cp && onVolume(brun, cp);
      if (cat && cat.src === at.src && within(at.rel, cat.rel)) {
        problems.push(`${s} reads ${p}, inside the build context ${cp} of ${b}: the tar races the build and is sent with its context`);
      }
    }
    // Vulnerabilities only: Trivy's defaults add secret scanning, which is not what this gate decides on.
    const scanners = opt(run.args, '--scanners').join(',').split(',').filter(Boolean);
    if (scanners.join(',') !== 'vuln') problems.push(`${s} must scan with --scanners vuln, has ${scanners.length ? `--scanners ${scanners.join(',')}` : "the scanner's defaults"}`);
    const exit = opt(run.args, '--exit-code').pop();
    const code = exit === undefined ? 0 : Number(exit);
    // The expected mode: the config's when known; otherwise a gate with no functional test must
    // enforce, or nothing stops a vulnerable image.
    const mode = expect ? expect.mode : tests.length ? undefined : 'enforce';
    if (mode === 'enforce' && !(code > 0)) problems.push(`${s} must enforce${expect ? ' (config: mode enforce)' : ' (no functional test gates this image)'} but has --exit-code ${exit ?? '(none: 0)'}: findings never block promotion`);
    if (mode === 'report' && code !== 0) problems.push(`${s} is in report mode (config) but has --exit-code ${exit}: findings fail the run`);
    if (!mode) notes.push(`${s}: --exit-code ${exit ?? 0}, ${code > 0 ? 'enforce' : 'report'} mode (no config to compare with)`);
    if (!pinned(run.image)) {
      problems.push(`the scanner image ${run.image} of ${s} is not pinned by tag and digest (name:tag@sha256:...)`);
    }
  }

  // 3. Promotion only after the test and the scan: in the graph, and in the order acb ran them.
  const validations = [...tests, ...scans];
  for (const p of pushes) {
    const before = ancestors(p);
    for (const v of validations) {
      if (!before.has(v)) problems.push(`${p} pushes without waiting for ${v} (its prerequisites: ${[...before].join(', ') || 'none'})`);
      else if (!(started.get(p) > doneAt(v))) problems.push(`acb started ${p} before ${v} finished`);
    }
  }
  const enforcing = scans.some((s) => Number(opt(one(s).args, '--exit-code').pop() || 0) > 0);
  if (!tests.length && !enforcing && !(expect && expect.allowUnvalidated)) problems.push('promoted with neither a functional test nor an enforcing scan');

  // 4. What the config asked for is there; a base image trigger needs a build step to track.
  if (expect) {
    if (expect.test && !tests.length) problems.push('the config enables the functional test, the task has none');
    if (!expect.test && tests.length) problems.push(`the config disables the functional test, the task runs ${tests.join(', ')}`);
    if (expect.scan && !scans.length) problems.push('the config enables the scan, the task has none');
    if (!expect.scan && scans.length) problems.push(`the config disables the scan, the task runs ${scans.join(', ')}`);
  }
  // 5. Promote only what changed: every scripted push skips on the marker that a compare step,
  //    one of its ancestors, writes; signing: the unique digest is signed (and its evidence
  //    attached and signed) before the stable tag is pushed.
  checkPromotion(g);
  const trigger = t.base_image_trigger;
  if (!builds.length && trigger && trigger.enabled !== false) {
    problems.push('has a base image trigger but no build step: ACR tracks the base images of build steps, so it never fires');
  }
  g.result.summary = (
    `test ${tests.join(', ') || 'none'}; scan ${scans.map((s) => `${s} (${opt(one(s).args, '--input')[0]}, ${Number(opt(one(s).args, '--exit-code').pop() || 0) > 0 ? 'enforce' : 'report'}${expect ? ' as configured' : ''})`).join(', ') || 'none'}; ` +
      `push ${pushes.join(', ')} after ${validations.join(' + ') || 'nothing'}; ${g.result.promotion}`
  );
}

let knownCache;
/** The scripts lib/run-scripts.ts writes, from the compiled app. */
function knownScripts() {
  if (!knownCache) {
    const dist = path.join(ROOT, 'dist', 'lib', 'run-scripts.js');
    if (!fs.existsSync(dist)) throw new Error(`${dist} does not exist (npm run build): needed to compare the task files' scripts`);
    knownCache = new Set(require(dist).allScripts());
  }
  return knownCache;
}

/** Files a script writes (`> FILE`) and reads (`-s FILE`, `cat FILE`). */
const writes = (script) => [...script.matchAll(/> (\/acb\/home\/[\w./-]+)/g)].map((m) => m[1]);
const reads = (script) => [...script.matchAll(/(?:-s|cat) (\/acb\/home\/[\w./-]+)/g)].map((m) => m[1]);

function checkPromotion(g) {
  const { ancestors, runs, scriptPushes, scripts, evidenceScans, problems, expect, expectSigning, rawValues } = g;
  const one = (id) => runs.get(id)[0];
  const writers = (file) => scripts.filter((id) => writes(one(id).script).includes(file));
  const compare = scripts.filter((id) => /docker pull "\$STABLE"/.test(one(id).script));
  if (scriptPushes.length && compare.length !== 1) problems.push(`${compare.length} steps compare the stable tag with the source (want 1)`);
  const markers = new Set();
  for (const p of scriptPushes) {
    const m = /if \[ -s (\S+) \]; then [^;]*; exit 0; fi/.exec(one(p).script);
    if (!m) { problems.push(`${p} pushes without checking whether anything changed`); continue; }
    const w = writers(m[1]);
    if (!w.length || !w.some((x) => ancestors(p).has(x))) problems.push(`${p} skips on ${m[1]}, which no step before it writes`);
    markers.add(m[1]);
  }
  // Steps that skip when unchanged (the save, the scan, the evidence): on the very marker the
  // pushes skip on, and only once every step that writes or removes it has finished; else a
  // validation could end early while something is still promoted.
  for (const id of g.skippers) {
    const file = one(id).skipsOn;
    if (scriptPushes.length && !markers.has(file)) problems.push(`${id} skips on ${file}, the pushes on ${[...markers].join(', ') || 'nothing'}`);
    const deciders = scripts.filter((x) => writes(one(x).script).includes(file) || one(x).script.includes(`rm -f ${file}`));
    if (!deciders.length) problems.push(`${id} skips on ${file}, which no step writes`);
    for (const d of deciders) if (!ancestors(id).has(d)) problems.push(`${id} skips on ${file} without waiting for ${d}, which decides it`);
  }
  // The stable tag: a pushed tag that does not end in this run's id (the unique tag does).
  const stable = scriptPushes.filter((p) => one(p).pushes.some((img) => !img.endsWith(`-${RUN_ID}`)));
  const signs = scripts.filter((id) => /notation sign /.test(one(id).script) && !/oras attach /.test(one(id).script));
  const attaches = scripts.filter((id) => /oras attach /.test(one(id).script));
  if (expectSigning === true) {
    if (!signs.length) problems.push('signing is on (config), but no step signs');
    const key = rawValues.SIGNING_KEY_ID;
    // From secret_id: azurerm refreshes it (and certificate_data) to the latest version, never id.
    if (!key || !/^\$\{replace\((?:data\.)?azurerm_key_vault_certificate\.[\w-]+\.secret_id, "\/secrets\/", "\/keys\/"\)\}$/.test(key)) problems.push(`SIGNING_KEY_ID ${JSON.stringify(key)} is not the versioned key id of the certificate's latest version (from its secret_id)`);
    for (const p of stable) for (const sgn of signs) if (!ancestors(p).has(sgn)) problems.push(`${p} moves the stable tag without waiting for ${sgn}`);
    if (expect && expect.scan) {
      if (!attaches.length) problems.push('signing and a scan are on, but no step attaches the evidence');
      for (const a of attaches) {
        for (const p of stable) if (!ancestors(p).has(a)) problems.push(`${p} moves the stable tag without waiting for ${a}, which attaches the evidence`);
        for (const e of evidenceScans) {
          const out = opt(one(e).args, '--output')[0];
          if (!ancestors(a).has(e)) problems.push(`${a} attaches without waiting for ${e}, which writes ${out}`);
          const file = out && out.replace(/^\/acb\/home\//, '');
          if (!file || !one(a).script.includes(` ${file}:`)) problems.push(`${a} does not attach ${out}, which ${e} writes`);
        }
        if (!/notation sign [^;]*"\$UNIQUE_REPO@\$d"/.test(one(a).script)) problems.push(`${a} does not sign what it attaches`);
      }
    }
  } else if (expectSigning === false && signs.length) problems.push(`${signs.join(', ')} sign, but signing is off (config)`);
  g.result.promotion = `compare ${compare.join(', ') || 'none'}${signs.length ? `; sign ${signs.join(', ')}` : ''}${attaches.length ? `; evidence ${attaches.join(', ')}` : ''}`;
}

function checkApp(ctx, t, a) {
  checkVerifyBeforeUse(a);
  const { tf } = ctx;
  const { values, registry, secrets, ancestors, runs, deploys, pushes, problems, notes } = a;
  const aci = values.ACI;
  const groups = Object.entries(tf.resources('azurerm_container_group')).filter(([, g]) => tf.str(g.name) === aci);
  if (aci === undefined) { problems.push('the task has no ACI value: cannot tell which container group it deploys'); return; }
  if (groups.length !== 1) { problems.push(`${groups.length} azurerm_container_group named ${aci} in this JSON (want 1)`); return; }
  const [gAddr, g] = groups[0];
  for (const d of deploys) {
    const o = azOptions(runs.get(d)[0].args.slice(2));
    const val = (f) => (o.get(f) || [])[0];
    const same = (what, got, want, norm = (x) => x) => {
      if (got === undefined || want === undefined || norm(got) !== norm(want)) {
        problems.push(`${d}: ${what} ${got === undefined ? '(missing)' : got}, but ${gAddr} has ${want === undefined ? '(nothing)' : want}`);
      }
    };
    const containers = g.container || [];
    const c = containers.find((x) => tf.str(x.name) === val('--name')) || (containers.length === 1 ? containers[0] : undefined);
    const num = (x) => String(Number(x));
    const loc = (x) => x.toLowerCase().replace(/\s+/g, '');
    same('--name', val('--name'), tf.str(g.name));
    same('--resource-group', val('--resource-group'), tf.str(g.resource_group_name));
    same('--location', val('--location'), tf.str(g.location), loc);
    same('--os-type', val('--os-type'), tf.str(g.os_type), (x) => x.toLowerCase());
    same('--cpu', val('--cpu'), c && tf.str(c.cpu), num);
    same('--memory', val('--memory'), c && tf.str(c.memory), num);
    const ports = (list) => (list || []).map((p) => Number(tf.str(p.port))).sort((x, y) => x - y).join(' ');
    const deployPorts = (o.get('--ports') || []).map(Number).sort((x, y) => x - y).join(' ') || undefined;
    same('--ports', deployPorts, c && ports(c.ports));
    if (g.exposed_port) same('--ports', deployPorts, ports(g.exposed_port), (x) => x); // the group's exposed_port too
    same('--dns-name-label', val('--dns-name-label'), tf.str(g.dns_name_label));
    if (g.restart_policy) same('--restart-policy', val('--restart-policy'), tf.str(g.restart_policy), (x) => x.toLowerCase());
    if (g.ip_address_type) same('--ip-address', val('--ip-address'), tf.str(g.ip_address_type), (x) => x.toLowerCase());

    // The image it rolls out is one this task pushed before.
    const image = val('--image');
    const pushedBy = pushes.filter((p) => runs.get(p).some((r) => r.args[1] === image));
    if (!pushedBy.length) problems.push(`${d} deploys ${image}, which no push step of this task pushes`);
    for (const p of pushedBy) if (!ancestors(d).has(p)) problems.push(`${d} does not wait for ${p}, which pushes ${image}`);

    // Registry authentication: the group's credential, in the way the group pulls.
    const server = val('--registry-login-server');
    const creds = (g.image_registry_credential || []).filter((x) => tf.str(x.server) === server);
    if (!creds.length) { problems.push(`${d}: --registry-login-server ${server}, but ${gAddr} has no credential for it`); continue; }
    const cred = creds[0];
    const groupIdentities = ((g.identity && g.identity.identity_ids) || []).map((x) => tf.str(x)).sort();
    const assigned = (o.get('--assign-identity') || []).slice().sort();
    if (assigned.join(' ') !== groupIdentities.join(' ')) {
      problems.push(`${d}: --assign-identity ${assigned.join(' ') || '(none)'}, but ${gAddr} has identities ${groupIdentities.join(' ') || '(none)'}`);
    }
    if (cred.user_assigned_identity_id !== undefined) {
      same('--acr-identity', val('--acr-identity'), tf.str(cred.user_assigned_identity_id));
      if (o.has('--registry-username') || o.has('--registry-password')) problems.push(`${d}: identity mode, yet it passes --registry-username/--registry-password`);
      a.result.summary = `deploy ${d} matches ${gAddr} (identity ${tf.str(cred.user_assigned_identity_id)})`;
    } else {
      if (o.has('--acr-identity')) problems.push(`${d}: token mode, yet it passes --acr-identity`);
      // Each of user and password must be a secret of the task whose Key Vault secret holds
      // exactly what the group's credential holds (the token name, the token password).
      for (const [flag, attr] of [['--registry-username', 'username'], ['--registry-password', 'password']]) {
        const got = val(flag);
        const id = got && got.startsWith(SECRET_PREFIX) ? got.slice(SECRET_PREFIX.length) : undefined;
        if (!id) { problems.push(`${d}: ${flag} ${got === undefined ? '(missing)' : 'is not a secret of the task'}`); continue; }
        if (!secrets) { problems.push(`${d}: cannot read the task's secrets: list to check ${flag}`); continue; }
        const sec = secrets.find((s) => s && s.id === id);
        if (!sec || !sec.keyvault) { problems.push(`${d}: ${flag} uses secret ${id}, which the task does not declare from Key Vault`); continue; }
        const url = String(sec.keyvault)
          .replace(/\{\{-?\s*\.Values\.([A-Za-z0-9_]+)\s*-?\}\}/g, (_, k) => values[k] ?? '')
          .replace(/\{\{-?\s*\.Run\.RegistryName\s*-?\}\}/g, registry.split('.')[0])
          .replace(/\{\{-?\s*\.Run\.Registry\s*-?\}\}/g, registry);
        const m = /^https:\/\/([^./]+)\.vault\.azure\.net\/secrets\/([^/]+)(\/[^/]+)?$/.exec(url);
        if (!m) { problems.push(`${d}: secret ${id} reads ${url}, not a Key Vault secret URL this check understands`); continue; }
        const stored = Object.entries(tf.resources('azurerm_key_vault_secret')).filter(([, s]) => {
          if (tf.str(s.name) !== m[2]) return false;
          const kv = /^\$\{((?:data\.)?azurerm_key_vault\.[A-Za-z0-9_-]+)\.id\}$/.exec(s.key_vault_id || '');
          const vault = kv && tf.lookup(kv[1]);
          return !vault || tf.str(vault.body.name) === m[1];
        });
        if (stored.length !== 1) { problems.push(`${d}: secret ${id} reads ${m[2]} in vault ${m[1]}: ${stored.length} such azurerm_key_vault_secret in this JSON`); continue; }
        const [sAddr, s] = stored[0];
        if (s.value !== cred[attr]) {
          problems.push(`${d}: ${flag} comes from ${sAddr} = ${JSON.stringify(s.value)}, but ${gAddr} pulls with ${attr} ${JSON.stringify(cred[attr])}`);
        }
      }
      a.result.summary = `deploy ${d} matches ${gAddr} (token: user and password from Key Vault secrets of the token)`;
    }
  }
}

/** Signing on: every build waits for a `notation verify` of the digest a pull step recorded. */
function checkVerifyBeforeUse(a) {
  const { ancestors, runs, builds, scripts, problems, expectSigning } = a;
  const one = (id) => runs.get(id)[0];
  const verifies = scripts.filter((id) => /notation verify [^;]*"\$ref"/.test(one(id).script));
  if (expectSigning === true && !verifies.length) problems.push('signing is on (config), but the app builds without verifying its base image');
  if (expectSigning === false && verifies.length) problems.push(`${verifies.join(', ')} verify, but signing is off (config)`);
  // The config's base image: what the app must pull, verify and have been signed as.
  const base = a.expectBase;
  for (const v of verifies) {
    if (base && !(String(one(v).envMap.BASE).endsWith(`/${base}`) && one(v).envMap.TARGET === base)) {
      problems.push(`${v} verifies ${one(v).envMap.BASE} as ${one(v).envMap.TARGET}, but the config's baseImage is ${base}`);
    }
    if (!/notation verify --user-metadata "io\.acr-gate\.target=\$TARGET" "\$ref"/.test(one(v).script)) problems.push(`${v} does not require the gate's io.acr-gate.target for its digest`);
  }
  for (const v of verifies) {
    const files = reads(one(v).script);
    const pulls = scripts.filter((id) => /docker pull "\$BASE"/.test(one(id).script) && writes(one(id).script).some((f) => files.includes(f)));
    if (!pulls.length) problems.push(`${v} verifies a digest that no pull step records`);
    for (const p of pulls) {
      if (!ancestors(v).has(p)) problems.push(`${v} does not wait for ${p}, which records the digest`);
      if (one(p).envMap.BASE !== one(v).envMap.BASE) problems.push(`${v} verifies ${one(v).envMap.BASE}, ${p} pulls ${one(p).envMap.BASE}`);
    }
    if (!/\$GATE_CERTIFICATE/.test(one(v).script) || !one(v).envMap.GATE_CERTIFICATE) problems.push(`${v} does not trust the gate certificate`);
    for (const b of builds) {
      if (!ancestors(b).has(v)) problems.push(`${b} builds without waiting for ${v}`);
      const from = opt(one(b).args, '--build-arg').find((x) => x.startsWith('REGISTRY_FROM_URL='));
      if (!from || !one(v).envMap.BASE.startsWith(from.slice('REGISTRY_FROM_URL='.length))) problems.push(`${b} builds from ${from}, not where ${v} verified ${one(v).envMap.BASE}`);
    }
  }
  if (verifies.length) a.notes.push(`verify before use: ${verifies.join(', ')} before ${builds.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------

function expectations(config) {
  const gates = new Map();
  const apps = new Map();
  if (!config) return { gates, apps, source: undefined, signing: undefined };
  const dist = path.join(ROOT, 'dist', 'lib', 'config.js');
  if (!fs.existsSync(dist)) throw new Error(`${dist} does not exist (npm run build): needed to read ${config}`);
  const { loadConfig } = require(dist);
  const c = loadConfig(config === 'default' ? {} : { ACR_GATE_CONFIG: config });
  for (const gi of c.gatedImages || []) {
    gates.set(gi.taskName, {
      mode: gi.scan && gi.scan.enabled !== false ? gi.scan.mode : undefined,
      test: !!(gi.test && gi.test.enabled !== false),
      scan: !!(gi.scan && gi.scan.enabled !== false),
      allowUnvalidated: !!gi.allowUnvalidated,
    });
  }
  for (const a of c.apps || []) apps.set(a.taskName, `${a.baseImage.repository}:${a.baseImage.tag}`);
  return { gates, apps, source: config, signing: !!(c.signing && c.signing.enabled) };
}

function main(argv) {
  let acb, work, timeoutMs = 20000, failed = 0;
  const entries = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--acb') acb = argv[++i];
    else if (a === '--work') work = argv[++i];
    else if (a === '--timeout') timeoutMs = Number(argv[++i]) * 1000;
    else if (a === '--failed') failed = Number(argv[++i]);
    else entries.push(a);
  }
  if (!acb || !work) throw new Error('usage: lib-acb.cjs --acb PATH --work DIR [--timeout SEC] [--failed N] WHERE|CONFIG|FILE...');
  let tasks = 0, stepsChecked = 0, notCheckable = 0;
  const out = (s) => process.stdout.write(s + '\n');
  for (const [n, entry] of entries.entries()) {
    const [where, config, file] = entry.split('|');
    let tf, expect;
    try {
      tf = new Tf(JSON.parse(fs.readFileSync(file, 'utf8')));
      expect = expectations(config);
    } catch (e) {
      out(`${TAG}: FAIL ${where} (${e.message.split('\n')[0]})`);
      failed++;
      continue;
    }
    const all = Object.entries(tf.resources('azurerm_container_registry_task'));
    if (!all.length) out(`${TAG}: note: ${where} has no azurerm_container_registry_task`);
    for (const [addr, t] of all) {
      const name = `${where} ${t.name || addr}`;
      if (!t.encoded_step) {
        notCheckable++;
        const fsx = t.file_step;
        out(`${TAG}: NOT CHECKABLE ${name}: ${fsx ? `its task file ${fsx.task_file_path} is in ${fsx.context_path}, read at run time` : 'no encoded_step'}; not checkable offline`);
        continue;
      }
      tasks++;
      let r;
      try {
        r = checkTask({ tf, acb, timeoutMs, expect, workDir: path.join(work, String(n), addr) }, t);
      } catch (e) {
        r = { kind: 'task', steps: 0, problems: [`check crashed: ${e.stack || e.message}`], notes: [] };
      }
      stepsChecked += r.steps;
      const head = `${name} (${r.kind}, ${r.steps} steps)`;
      if (r.problems.length) {
        failed++;
        out(`${TAG}: FAIL ${head}`);
        for (const p of r.problems) out(`    - ${p}`);
      } else out(`${TAG}: PASS ${head}${r.summary ? `: ${r.summary}` : ''}`);
      for (const note of r.notes) out(`    note: ${note}`);
    }
  }
  if (notCheckable) out(`${TAG}: ${notCheckable} task(s) with a file step not checkable offline`);
  if (tasks === 0) {
    out(`${TAG}: FAIL nothing was checked (no task with an encoded_step in ${entries.length} stack(s))`);
    failed++;
  }
  out(`${TAG}: ${tasks} tasks checked, ${stepsChecked} steps checked, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${TAG}: ERROR: ${e.message}\n`);
    process.exitCode = 2;
  }
}

module.exports = { templateParts, Tf, prepareTaskFile, shellWords, parseDockerRun };
