/**
 * `npm run check-tasks` (app/acb-check.ts): the checks of a gate's task (constructs/gated-import.ts)
 * on the commands acb would run. The functional test runs the image the test build tagged; the
 * scan reads the file `docker save -o` wrote, on a volume both mount, outside every build
 * context; promotion waits for every validation, in the graph and in the order acb ran the steps;
 * only what changed is promoted; signing: the stable tag moves after the signature and the evidence.
 *
 * Which steps validate and which promote is declared once, in lib/gate-steps.ts: promotion must
 * wait for the steps it declares validating as well as for every step that tests or scans by its
 * command, and the two must agree (a hand-edited task file whose commands changed is still caught).
 */
import { gateStep, promotingSteps, validatingSteps } from "../lib/gate-steps";
import { absPath, buildContext, onVolume, opt, pinned, volName, within, writes } from "./acb-commands";
import { CheckResult, DryRun, RUN_ID } from "./acb-run";

/** What the config says of a gate (app/acb-check.ts reads it with the app's loader). */
export interface GateExpectation {
  mode?: string;
  test: boolean;
  scan: boolean;
  allowUnvalidated: boolean;
  /** What the gate pulls, `<registry>/<repository>:<tag>`: its upstream, or the cached repository (lib/artifact-cache.ts gatePull). */
  pulls: string;
}

/** A gate's steps by what their commands do (app/acb-check.ts tells them apart). */
export interface GateView extends DryRun {
  result: CheckResult;
  builds: string[];
  saves: string[];
  /** Trivy reading --input, deciding (no --output). */
  scans: string[];
  /** Trivy reading --input, writing a report (--output). */
  evidenceScans: string[];
  pushes: string[];
  scriptPushes: string[];
  scripts: string[];
  /** Steps that run one command unless unchanged (their skipsOn). */
  skippers: string[];
  rawValues: Record<string, unknown>;
  problems: string[];
  notes: string[];
  expect?: GateExpectation;
  expectSigning?: boolean;
}

const unique = (ids: string[]): string[] => [...new Set(ids)];

export function checkGate(t: Record<string, any>, g: GateView): void {
  const { steps, ancestors, runs, builds, saves, scans, pushes, started, doneAt, problems, notes, expect } = g;
  const one = (id: string) => runs.get(id)![0];

  // 1. The functional test runs the image the test build tagged, after that build.
  const tests: string[] = [];
  for (const b of builds) {
    const tags = opt(one(b).args, "-t", "--tag");
    const runners = [...runs.keys()].filter((id) => id !== b && one(id).image !== undefined && tags.includes(one(id).image!));
    if (!runners.length) problems.push(`the test image ${tags.join(", ") || "(untagged)"} built by ${b} is never run: no functional test`);
    for (const id of runners) {
      if (!ancestors(id).has(b)) problems.push(`${id} runs ${one(id).image} without waiting for ${b}, which builds it`);
      tests.push(id);
    }
  }

  // 2. The scan reads the file the save step wrote, on a volume both mount, outside every build context.
  for (const s of scans) {
    const run = one(s);
    const input = opt(run.args, "--input")[0];
    if (!input) {
      problems.push(`${s} (${run.image}) has no --input: it does not scan the saved image`);
      continue;
    }
    const p = absPath(run, input);
    const at = p ? onVolume(run, p) : undefined;
    if (!at) {
      problems.push(`${s} reads ${input}, which is on no volume of its container (lost between steps)`);
      continue;
    }
    const writers = saves.filter((w) => {
      const out = opt(one(w).args, "-o", "--output")[0];
      const wp = out ? absPath(one(w), out) : undefined;
      const wat = wp ? onVolume(one(w), wp) : undefined;
      return wat && wat.src === at.src && wat.rel === at.rel;
    });
    if (!writers.length) problems.push(`${s} reads ${p} (${volName(at)}), which no \`docker save -o\` step writes there`);
    for (const w of writers) if (!ancestors(s).has(w)) problems.push(`${s} does not wait for ${w}, which writes its input`);
    for (const b of builds) {
      const brun = one(b);
      const c = buildContext(brun.args);
      const cp = c && c !== "-" ? absPath(brun, c) : undefined;
      const cat = cp ? onVolume(brun, cp) : undefined;
      if (cat && cat.src === at.src && within(at.rel, cat.rel)) {
        problems.push(`${s} reads ${p}, inside the build context ${cp} of ${b}: the tar races the build and is sent with its context`);
      }
    }
    // Vulnerabilities only: Trivy's defaults add secret scanning, which is not what this gate decides on.
    const scanners = opt(run.args, "--scanners").join(",").split(",").filter(Boolean);
    if (scanners.join(",") !== "vuln") problems.push(`${s} must scan with --scanners vuln, has ${scanners.length ? `--scanners ${scanners.join(",")}` : "the scanner's defaults"}`);
    const exit = opt(run.args, "--exit-code").pop();
    const code = exit === undefined ? 0 : Number(exit);
    // The expected mode: the config's when known; otherwise a gate with no functional test must
    // enforce, or nothing stops a vulnerable image.
    const mode = expect ? expect.mode : tests.length ? undefined : "enforce";
    if (mode === "enforce" && !(code > 0)) {
      problems.push(`${s} must enforce${expect ? " (config: mode enforce)" : " (no functional test gates this image)"} but has --exit-code ${exit ?? "(none: 0)"}: findings never block promotion`);
    }
    if (mode === "report" && code !== 0) problems.push(`${s} is in report mode (config) but has --exit-code ${exit}: findings fail the run`);
    if (!mode) notes.push(`${s}: --exit-code ${exit ?? 0}, ${code > 0 ? "enforce" : "report"} mode (no config to compare with)`);
    if (!pinned(run.image)) {
      problems.push(`the scanner image ${run.image} of ${s} is not pinned by tag and digest (name:tag@sha256:...)`);
    }
  }

  // 3. The declaration (lib/gate-steps.ts) and the commands agree: each step is declared, what
  //    tests or scans is declared validating and the other way round, what pushes is declared promoting.
  const ids = steps.map((s) => s.id);
  for (const id of ids) if (!gateStep(id)) problems.push(`step ${id} is not declared in lib/gate-steps.ts: its role in the gate is unknown`);
  const declared = validatingSteps(ids);
  for (const v of [...tests, ...scans]) {
    if (gateStep(v) && !declared.includes(v)) problems.push(`${v} ${tests.includes(v) ? "runs the test image" : "scans the saved image"}, but lib/gate-steps.ts does not declare it validating`);
  }
  for (const v of declared) {
    if (!tests.includes(v) && !scans.includes(v)) problems.push(`${v} is declared validating (lib/gate-steps.ts), but neither runs the test image nor scans the saved image`);
  }
  for (const p of pushes) if (gateStep(p) && !gateStep(p)!.promotes) problems.push(`${p} pushes, but lib/gate-steps.ts does not declare it promoting`);

  // 4. Promotion only after every validation (what tests or scans, and what the declaration says
  //    validates): in the graph, and in the order acb ran them. Promotion: what pushes, and what
  //    the declaration says promotes (the signature, the evidence).
  const validations = unique([...tests, ...scans, ...declared]);
  for (const p of unique([...pushes, ...promotingSteps(ids)])) {
    const before = ancestors(p);
    for (const v of validations) {
      const at = started.get(p);
      if (!before.has(v)) problems.push(`${p} ${pushes.includes(p) ? "pushes" : "promotes"} without waiting for ${v} (its prerequisites: ${[...before].join(", ") || "none"})`);
      else if (!(at !== undefined && at > doneAt(v))) problems.push(`acb started ${p} before ${v} finished`);
    }
  }
  const enforcing = scans.some((s) => Number(opt(one(s).args, "--exit-code").pop() || 0) > 0);
  if (!tests.length && !enforcing && !(expect && expect.allowUnvalidated)) problems.push("promoted with neither a functional test nor an enforcing scan");

  // 5. What the config asked for is there; a base image trigger needs a build step to track.
  if (expect) {
    if (expect.test && !tests.length) problems.push("the config enables the functional test, the task has none");
    if (!expect.test && tests.length) problems.push(`the config disables the functional test, the task runs ${tests.join(", ")}`);
    if (expect.scan && !scans.length) problems.push("the config enables the scan, the task has none");
    if (!expect.scan && scans.length) problems.push(`the config disables the scan, the task runs ${scans.join(", ")}`);
  }
  // 6. Promote only what changed: every scripted push skips on the marker that a compare step,
  //    one of its ancestors, writes; signing: the unique digest is signed (and its evidence
  //    attached and signed) before the stable tag is pushed.
  checkPromotion(g);
  // 7. The test image is built FROM the untrusted source, and its step mounts the run's home volume
  //    (the marker, the saved tar) and the Docker socket: it runs only once every step that skips
  //    on the marker, or reads the tar, has finished, or upstream code could skip its own scan.
  for (const test of tests) {
    for (const s of g.skippers) if (!g.ancestors(test).has(s)) problems.push(`${test} runs the test image (FROM the source, with the run's home volume) without waiting for ${s}, which reads the unchanged marker or the saved image`);
  }
  const trigger = t.base_image_trigger;
  if (!builds.length && trigger && trigger.enabled !== false) {
    problems.push("has a base image trigger but no build step: ACR tracks the base images of build steps, so it never fires");
  }
  const scanned = scans.map((s) => {
    const mode = Number(opt(one(s).args, "--exit-code").pop() || 0) > 0 ? "enforce" : "report";
    return `${s} (${opt(one(s).args, "--input")[0]}, ${mode}${expect ? " as configured" : ""})`;
  });
  g.result.summary =
    `test ${tests.join(", ") || "none"}; scan ${scanned.join(", ") || "none"}; ` +
    `push ${pushes.join(", ")} after ${validations.join(" + ") || "nothing"}; ${g.result.promotion}`;
}

function checkPromotion(g: GateView): void {
  const { ancestors, runs, scriptPushes, scripts, evidenceScans, problems, expect, expectSigning, rawValues } = g;
  const one = (id: string) => runs.get(id)![0];
  /** The script of a script step (only ever asked of those). */
  const script = (id: string) => one(id).script as string;
  const writers = (file: string) => scripts.filter((id) => writes(script(id)).includes(file));
  const compare = scripts.filter((id) => /docker pull "\$STABLE"/.test(script(id)));
  if (scriptPushes.length && compare.length !== 1) problems.push(`${compare.length} steps compare the stable tag with the source (want 1)`);
  const markers = new Set<string>();
  for (const p of scriptPushes) {
    const m = /if \[ -s (\S+) \]; then [^;]*; exit 0; fi/.exec(script(p));
    if (!m) {
      problems.push(`${p} pushes without checking whether anything changed`);
      continue;
    }
    const w = writers(m[1]);
    if (!w.length || !w.some((x) => ancestors(p).has(x))) problems.push(`${p} skips on ${m[1]}, which no step before it writes`);
    markers.add(m[1]);
  }
  // Steps that skip when unchanged (the save, the scan, the evidence): on the very marker the
  // pushes skip on, and only once every step that writes or removes it has finished; else a
  // validation could end early while something is still promoted.
  for (const id of g.skippers) {
    const file = one(id).skipsOn as string;
    if (scriptPushes.length && !markers.has(file)) problems.push(`${id} skips on ${file}, the pushes on ${[...markers].join(", ") || "nothing"}`);
    const deciders = scripts.filter((x) => writes(script(x)).includes(file) || script(x).includes(`rm -f ${file}`));
    if (!deciders.length) problems.push(`${id} skips on ${file}, which no step writes`);
    for (const d of deciders) if (!ancestors(id).has(d)) problems.push(`${id} skips on ${file} without waiting for ${d}, which decides it`);
  }
  // The stable tag: a pushed tag that does not end in this run's id (the unique tag does).
  const stable = scriptPushes.filter((p) => one(p).pushes.some((img) => !img.endsWith(`-${RUN_ID}`)));
  const signs = scripts.filter((id) => /notation sign /.test(script(id)) && !/oras attach /.test(script(id)));
  const attaches = scripts.filter((id) => /oras attach /.test(script(id)));
  if (expectSigning === true) {
    if (!signs.length) problems.push("signing is on (config), but no step signs");
    const key = rawValues.SIGNING_KEY_ID as string | undefined;
    // From secret_id: azurerm refreshes it (and certificate_data) to the latest version, never id.
    if (!key || !/^\$\{replace\((?:data\.)?azurerm_key_vault_certificate\.[\w-]+\.secret_id, "\/secrets\/", "\/keys\/"\)\}$/.test(key)) {
      problems.push(`SIGNING_KEY_ID ${JSON.stringify(key)} is not the versioned key id of the certificate's latest version (from its secret_id)`);
    }
    for (const p of stable) for (const sgn of signs) if (!ancestors(p).has(sgn)) problems.push(`${p} moves the stable tag without waiting for ${sgn}`);
    if (expect && expect.scan) {
      if (!attaches.length) problems.push("signing and a scan are on, but no step attaches the evidence");
      for (const a of attaches) {
        for (const p of stable) if (!ancestors(p).has(a)) problems.push(`${p} moves the stable tag without waiting for ${a}, which attaches the evidence`);
        for (const e of evidenceScans) {
          const out = opt(one(e).args, "--output")[0];
          if (!ancestors(a).has(e)) problems.push(`${a} attaches without waiting for ${e}, which writes ${out}`);
          const file = out && out.replace(/^\/acb\/home\//, "");
          if (!file || !script(a).includes(` ${file}:`)) problems.push(`${a} does not attach ${out}, which ${e} writes`);
        }
        if (!/notation sign [^;]*"\$UNIQUE_REPO@\$d"/.test(script(a))) problems.push(`${a} does not sign what it attaches`);
      }
    }
  } else if (expectSigning === false && signs.length) problems.push(`${signs.join(", ")} sign, but signing is off (config)`);
  g.result.promotion = `compare ${compare.join(", ") || "none"}${signs.length ? `; sign ${signs.join(", ")}` : ""}${attaches.length ? `; evidence ${attaches.join(", ")}` : ""}`;
}
