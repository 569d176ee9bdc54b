/**
 * One lab: the daemon and registries (lab-host.ts), the images (lab-images.ts), and the runs of
 * the synthesized tasks on ACR's own engine, acb, without `--dry-run` (help/lab.md).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { checkInterrupted, LabError, LabHost, tail } from "./lab-host";
import { LocalContainerInstances } from "./lab-aci";
import { copyManifest, RegistryContents, registryContents } from "./lab-registry";
import { dpkgStatus, importImage, LAB_TOOLS, LabToolPaths, osFiles } from "./lab-images";
import { LabTask, prepare, signerImageOf, StandIn, taskFileText, triggeredBy } from "./lab-tasks";
import { withoutSecrets } from "./task-inputs";

export interface StepRecord {
  id: string;
  status: "succeeded" | "failed" | "skipped";
  ran: "real" | "stand-in";
  seconds: number;
}

export interface RunRecord {
  task: string;
  trigger: string;
  status: "succeeded" | "failed";
  seconds: number;
  steps: StepRecord[];
  /** Not in the report file: for messages and checks. */
  runId: string;
  log: string;
  /** Images whose digest this run changed (`<login server>/<repo>:<tag>`). */
  pushed: string[];
  /** What `az` was asked (the stand-in's record), one argument list per call. */
  az: string[][];
}


/** The advisory the lab's vulnerability database holds (the `vulnerable` scenario's package carries it). */
export const LAB_ADVISORY = {
  id: "ACR-GATE-LAB-2026-0001",
  package: "acr-gate-lab-vulnerable",
  installed: "1.0.0",
  fixedVersion: "1.0.1",
  severity: "CRITICAL",
} as const;

/** Why the lab cannot stand in a gate's scanner image (it builds the Trivy version of LAB_TOOLS), or undefined. */
export function scannerProblem(ref: string): string | undefined {
  const m = /^(?:[^/]+\/)*[^/]*trivy:v?(\d+\.\d+\.\d+)(@sha256:[0-9a-f]{64})?$/.exec(ref);
  if (!m) return `scanner image ${ref}: the lab builds Trivy only (an image trivy:<version>); rehearse this gate with Trivy, or in Azure`;
  if (`v${m[1]}` !== LAB_TOOLS.trivy.version) return `scanner image ${ref}: the lab has Trivy ${LAB_TOOLS.trivy.version} (LAB_TOOLS in app/lab-images.ts)`;
  return undefined;
}

/** What the stand-in public images say of themselves (the walkthrough's base-image-node sets the same). */
const PUBLIC_IMAGE_ENV = { NODE_VERSION: "15-alpine", BACKGROUND_COLOR: "DeepSkyBlue" };

/** The alias acb resolves `az` to (`acb exec --dry-run` prints it): the lab's recording stand-in carries its name. */
const AZ_IMAGE_PATTERN = /mcr\.microsoft\.com\/acr\/azure-cli:[A-Za-z0-9._-]+/g;
const AZ_MARK = "acr-gate-lab az:";

/** A sh script that stands in for `az`: records its arguments (base64, one per line) and succeeds. */
const AZ_STAND_IN = `#!/bin/sh
# acr-gate lab: a stand-in for the Azure CLI. It records its arguments and succeeds; nothing reaches Azure.
printf '%s' "${AZ_MARK} " >&2
for a in "$@"; do printf '%s' "$a" | base64 -w0 >&2; printf ' ' >&2; done
echo >&2
`;

export interface LabOptions {
  readonly host: LabHost;
  readonly tools: LabToolPaths;
  readonly work: string;
  readonly tasks: readonly LabTask[];
  /** Login server => local address (every registry of the config and every upstream host). */
  readonly registries: ReadonlyMap<string, string>;
  /** Task name => local context directory. */
  readonly contexts: ReadonlyMap<string, string>;
  readonly log: (s: string) => void;
}

export class Lab {
  readonly standIns = new Map<string, StandIn>();
  readonly runs: RunRecord[] = [];
  private seq = 0;
  private pinned = new Map<string, string>();
  private trivyDb?: string;

  private readonly aci: LocalContainerInstances;

  constructor(readonly o: LabOptions) {
    this.aci = new LocalContainerInstances(o.host, o.work, (s) => this.standIn(s));
  }

  private standIn(s: StandIn): void {
    this.standIns.set(s.what, s);
  }

  /** Builds every image acb and the tasks need, and the stand-in upstream images (by their names in the config); dry-runs every task first. */
  setUp(upstreamImages: readonly string[], scannerImages: readonly string[]): void {
    const { host, tools, work } = this.o;
    const t0 = Date.now();
    const docker = spawnSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
    this.tool("bash:latest", { bins: { "/bin/bash": "/bin/bash" } });
    this.tool("docker:latest", { bins: { "/usr/local/bin/docker": docker }, changes: ['ENTRYPOINT ["docker"]'] });
    this.tool("acb:latest", { bins: { "/usr/local/bin/acb": tools.acb }, changes: ['ENTRYPOINT ["acb"]'] });
    this.standIn({ what: "the images bash, docker and acb that acb starts", why: `built by the lab from this machine's bash, its docker CLI (${docker}) and the same acb binary (ACR's agents pull them)` });
    this.standIn({ what: "acb's network acb_default_network (a bridge)", why: "acb runs with --network host: the namespace's loopback, where the registries are" });
    this.standIn({ what: "the tasks' registry credentials (registry_credential: tokens in Key Vault, the task's identity)", why: "acb logs in with each login the task has (its secrets stood in by local values), but the lab's registries take any login and anonymous pulls and pushes; who may pull what stays unproven here" });
    // az: every name acb resolves the alias to.
    const azImages = new Set<string>();
    for (const t of this.o.tasks) {
      if (!("text" in t.taskFile)) continue;
      const file = path.join(work, "dry-run.yaml");
      fs.writeFileSync(file, withoutSecrets(t.taskFile.text, (id) => id));
      const dry = host.exec([tools.acb, "exec", "--dry-run", "-f", file, "--registry", "lab.invalid", "--id", "dry"]);
      for (const m of (dry.stdout + dry.stderr).matchAll(AZ_IMAGE_PATTERN)) azImages.add(m[0]);
    }
    for (const image of azImages) this.tool(image, { files: { "usr/local/bin/az": AZ_STAND_IN }, changes: ['ENTRYPOINT ["/bin/sh", "/usr/local/bin/az"]'] });
    if (azImages.size) this.standIn({ what: `az (${[...azImages].join(", ")})`, why: "no Azure here: a stand-in that records its arguments (the deploy's az container create) and succeeds; the lab runs the deployed image itself" });
    // The scanner, pinned by digest in the task: the same version built from source.
    for (const ref of scannerImages) {
      const problem = scannerProblem(ref);
      if (problem) throw new LabError(problem);
      const local = ref.replace(/@sha256:[0-9a-f]{64}$/, "");
      this.tool(local, { bins: { "/usr/local/bin/trivy": tools.trivy }, changes: ['ENTRYPOINT ["trivy"]'] });
      if (local !== ref) this.pinned.set(ref, local);
      // Its registry stood in too (ghcr.io, when a gate pulls from it directly): the task file then
      // names the lab's registry for it, and the run pulls the scanner from there, as an agent from ghcr.io.
      const host = local.split("/")[0];
      if (this.o.registries.has(host)) {
        this.o.host.must(["docker", "tag", local, this.swap(local)]);
        this.o.host.must(["docker", "push", this.swap(local)], { timeoutMs: 300_000 });
        this.toolImages.add(this.swap(local));
        this.standIn({ what: `the scanner image ${local} in the lab's registry for ${host}`, why: `the gates pull from ${host} too, so its name is the lab's registry for it: the lab's Trivy build is pushed there` });
      }
    }
    // Signing: the signer image the build-signer task would build from help/signer/Dockerfile
    // (which downloads notation, its Key Vault plugin and oras), built here from the same versions
    // with the lab's stand-in of the plugin and a key pair of the lab's.
    const signer = signerImageOf(this.o.tasks);
    if (signer) this.buildSigner(signer);
    // The public images the config gates or builds on, stood in by one small Node image.
    for (const image of upstreamImages) {
      this.pushBase(this.swap(image), {});
      // Behind a registry of the config: the artifact cache's repository, which pulls through on first use.
      if (image.split("/")[0].endsWith(".azurecr.io")) {
        this.standIn({ what: `the artifact cache's pull of ${image}`, why: "no public registry here: the stand-in public image is put in the cached repository itself, where the cache rule would pull it through from its upstream on the first pull" });
      }
    }
    this.o.log(`images built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** The signing key pair (key id as `notation sign --id` takes it, the certificate as base64 DER) and the signer image's local name. */
  signing?: { keyId: string; certificate: string; image: string };

  private buildSigner(builds: string): void {
    const { tools, work } = this.o;
    if (!tools.notation || !tools.oras || !tools.notationKv) throw new LabError("signing: the lab's notation, oras and plugin stand-in are missing (labTools with signing)");
    const keys = path.join(work, "signing");
    const g = spawnSync(tools.notationKv, ["--generate", keys, "--key-type", "rsa-3072"], { encoding: "utf8" });
    if (g.status !== 0) throw new LabError(`the lab's signing key: ${tail(g.stderr, 3)}`);
    const image = this.swap(builds);
    const openssl = spawnSync("sh", ["-c", "command -v openssl"], { encoding: "utf8" }).stdout.trim();
    if (!openssl) throw new LabError("signing: openssl is not installed (Debian package openssl)");
    importImage(this.o.host, work, image, {
      bins: { "/usr/local/bin/notation": tools.notation, "/usr/local/bin/oras": tools.oras, "/opt/notation/plugins/azure-kv/notation-azure-kv": tools.notationKv, "/bin/bash": "/bin/bash", "/usr/bin/openssl": openssl },
      files: { "etc/acr-gate-lab/signing/key.pem": fs.readFileSync(path.join(keys, "key.pem")), "etc/acr-gate-lab/signing/cert.der": fs.readFileSync(path.join(keys, "cert.der")) },
      changes: ["ENV XDG_CONFIG_HOME=/opt", "ENV PATH=/usr/local/bin:/usr/bin:/bin", 'ENTRYPOINT ["/usr/local/bin/notation"]'],
    });
    this.o.host.must(["docker", "push", image], { timeoutMs: 300_000 });
    this.toolImages.add(image);
    this.signing = {
      keyId: "https://lab-vault.vault.azure.net/keys/acr-gate-signing/lab",
      certificate: fs.readFileSync(path.join(keys, "cert.b64"), "utf8").trim(),
      image,
    };
    this.standIn({
      what: `the signer image ${builds}`,
      why: "help/signer/Dockerfile downloads notation, its Key Vault plugin and oras from GitHub: the lab builds the same notation and oras versions from the Go module proxy, with its stand-in of the plugin (a local key, lab/notation-azure-kv); a build-signer task is not run",
    });
  }

  /** An image name with its registry's login server replaced by the lab's local registry. */
  swap(image: string): string {
    const host = image.split("/")[0];
    const local = this.o.registries.get(host);
    if (!local) throw new LabError(`no local registry for ${host} (image ${image})`);
    return local + image.slice(host.length);
  }

  /** Runs notation or oras of the signer image (its key, its plugin stand-in) against the lab's registries. */
  signerTool(tool: "notation" | "oras", args: string[]): string {
    if (!this.signing) throw new LabError("no signer image in this config");
    return this.o.host.must(["docker", "run", "--rm", "--network", "host", "--entrypoint", `/usr/local/bin/${tool}`, this.signing.image, ...args], { timeoutMs: 120_000 });
  }

  /**
   * Builds the stand-in public base image (this machine's Node binary and libraries, busybox,
   * Debian's release files, a dpkg status) and pushes it as `image` (a local address).
   */
  pushBase(image: string, o: { packages?: Record<string, string>; env?: Record<string, string> }): void {
    importImage(this.o.host, this.o.work, image, {
      bins: { "/usr/local/bin/node": this.o.tools.node },
      files: { ...osFiles(), "var/lib/dpkg/status": dpkgStatus({ "acr-gate-lab-base": "1.0.0", ...o.packages }) },
      // The walkthrough's colour and version, as its simulated public image says them: the fixtures' checks then hold in every upstream mode.
      changes: ["ENV PATH=/usr/local/bin:/usr/bin:/bin", ...Object.entries({ ...PUBLIC_IMAGE_ENV, ...o.env }).map(([k, v]) => `ENV ${k}=${v}`), 'CMD ["node"]'],
    });
    this.o.host.must(["docker", "push", image], { timeoutMs: 300_000 });
    this.standIn({ what: `the public image ${image.replace(/^localhost:\d+\//, "")}`, why: "no public registry here: a small image of this machine's Node.js and busybox under that name, in the lab's registry for its host" });
  }

  /** The lab's vulnerability database (Trivy's own format, written by lab/trivy-db), holding {@link LAB_ADVISORY}. */
  private trivyDatabase(): string {
    if (this.trivyDb) return this.trivyDb;
    const dir = path.join(this.o.work, "trivy-cache");
    const advisories = path.join(this.o.work, "advisories.json");
    const debian = (osFiles()["etc/debian_version"] ?? "12").trim().split(".")[0];
    fs.writeFileSync(
      advisories,
      JSON.stringify({
        advisories: [
          {
            id: LAB_ADVISORY.id,
            os: `debian ${debian}`,
            package: LAB_ADVISORY.package,
            fixedVersion: LAB_ADVISORY.fixedVersion,
            severity: LAB_ADVISORY.severity,
            title: "acr-gate lab: a critical advisory in a stand-in package",
            description: "Written by the acr-gate lab into its own vulnerability database; no such package exists.",
          },
        ],
      }),
    );
    const r = spawnSync(this.o.tools.trivydb, ["--out", dir, "--advisories", advisories], { encoding: "utf8" });
    if (r.status !== 0) throw new LabError(`writing the lab's vulnerability database failed: ${tail(r.stderr || r.stdout, 5)}`);
    this.standIn({ what: "Trivy's vulnerability database", why: `not reachable here: a database in Trivy's own format written by the lab (lab/trivy-db), with one advisory, ${LAB_ADVISORY.id}; put in each gate run's home volume, where the scan would download it` });
    this.trivyDb = dir;
    return dir;
  }

  /** The images the lab built for acb and the tasks' tools: the rest is an earlier run's. */
  private readonly toolImages = new Set<string>();

  /**
   * Nothing of an earlier run stays in the daemon: every image but the lab's tools and the
   * deployed apps' own copies (which share no layer with anything, see deploy) is removed, layers
   * included, so a run pulls what it uses as a new agent would.
   */
  private freshAgent(): void {
    const names = this.o.host.must(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).trim().split("\n");
    const drop = names.filter((n) => n && !n.includes("<none>") && !this.toolImages.has(n) && !n.startsWith("lab-aci/"));
    if (drop.length) this.o.host.exec(["docker", "image", "rm", "-f", ...drop]);
    this.o.host.exec(["docker", "image", "prune", "-f"]);
  }

  private tool(name: string, spec: Parameters<typeof importImage>[3]): void {
    importImage(this.o.host, this.o.work, name, spec);
    this.toolImages.add(name.includes(":") ? name : `${name}:latest`);
  }

  /** Runs one task on acb for real; returns what happened. Never throws for a failed run. */
  async run(task: LabTask, trigger: string, o: { context?: string } = {}): Promise<RunRecord> {
    const { host, tools } = this.o;
    const runId = `lab${++this.seq}`;
    const dir = path.join(this.o.work, "runs", `${runId}-${task.name}`);
    fs.mkdirSync(dir, { recursive: true });
    const contextDir = o.context ?? this.o.contexts.get(task.name);
    const text = taskFileText(task, contextDir);
    const prepared = prepare(task, text, { registries: this.o.registries, secret: (id) => `lab-secret-${id}`, pinned: this.pinned, signing: this.signing });
    for (const s of prepared.standIns) this.standIn(s);
    fs.writeFileSync(path.join(dir, "task.yaml"), prepared.taskFile);
    fs.writeFileSync(path.join(dir, "values.yaml"), YAML.stringify(prepared.values));
    if (task.context && !contextDir) throw new LabError(`task ${task.name}: its context ${task.context} is a Git repository; give a local copy with --context ${task.name}=<dir>`);
    // A fresh agent, as ACR gives every run: no image of an earlier run in the daemon (a build
    // FROM the stable tag pulls what it names now), an empty home volume, its own workspace.
    this.freshAgent();
    const ws = `lab-ws-${runId}`;
    host.must(["docker", "volume", "rm", "-f", "home"]);
    host.must(["docker", "volume", "create", "home"]);
    host.must(["docker", "volume", "create", ws]);
    const copies: string[] = [];
    const mounts: string[] = ["-v", `${ws}:/workspace`, "-v", "home:/acb/home"];
    if (contextDir) {
      mounts.push("-v", `${path.resolve(contextDir)}:/context:ro`);
      copies.push("cp -a /context/. /workspace/");
    }
    if (/--cache-dir \/acb\/home\/trivy-cache/.test(prepared.taskFile)) {
      mounts.push("-v", `${this.trivyDatabase()}:/trivy:ro`);
      copies.push("mkdir -p /acb/home/trivy-cache && cp -a /trivy/db /acb/home/trivy-cache/");
    }
    if (copies.length) host.must(["docker", "run", "--rm", "--network", "none", ...mounts, "--entrypoint", "/bin/sh", "bash:latest", "-c", copies.join(" && ")]);
    const registry = this.o.registries.get(task.registry);
    if (!registry) throw new LabError(`task ${task.name}: no local registry for ${task.registry}`);
    const before = this.contents();
    const t0 = Date.now();
    const acb = host.spawn([tools.acb, "exec", "-f", path.join(dir, "task.yaml"), "--values", path.join(dir, "values.yaml"), "--registry", registry, "--id", runId, "--homevol", ws, "--network", "host", "--name", task.name, ...prepared.credentials.flatMap((c) => ["--credential", c])]);
    let log = "";
    acb.stdout!.on("data", (d) => (log += d));
    acb.stderr!.on("data", (d) => (log += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      // The task's own timeout (timeout_in_seconds), as ACR ends a run: acb and its steps' containers, not the deployed apps.
      timedOut = true;
      host.exec(["pkill", "-KILL", "-x", "acb"]);
      const ids = host.exec(["docker", "ps", "-q", "--filter", "volume=home"]).stdout.trim().split("\n").filter(Boolean);
      if (ids.length) host.exec(["docker", "rm", "-f", ...ids]);
      acb.kill("SIGKILL");
    }, task.timeoutSeconds * 1000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => acb.on("close", (c, sig) => resolve([c, sig])));
    if (!timedOut) checkInterrupted(signal);
    clearTimeout(timer);
    if (timedOut) log += `\nacr-gate lab: the run passed its timeout_in_seconds (${task.timeoutSeconds}) and was ended\n`;
    const seconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(path.join(dir, "acb.log"), log);
    host.exec(["docker", "volume", "rm", "-f", ws]);
    const after = this.contents();
    const pushed: string[] = [];
    for (const [reg, repos] of Object.entries(after)) {
      for (const [repo, tags] of Object.entries(repos)) {
        for (const [tag, digest] of Object.entries(tags)) if (before[reg]?.[repo]?.[tag] !== digest) pushed.push(`${reg}/${repo}:${tag}`);
      }
    }
    const record: RunRecord = {
      task: task.name,
      trigger,
      status: code === 0 && !timedOut ? "succeeded" : "failed",
      seconds: round(seconds),
      steps: steps(log, prepared.taskFile),
      runId,
      log,
      pushed,
      az: azCalls(log),
    };
    this.runs.push(record);
    this.o.log(`run ${runId} ${task.name} (${trigger}): ${record.status} in ${record.seconds} s${pushed.length ? `, pushed ${pushed.join(", ")}` : ""}`);
    return record;
  }

  /**
   * Runs `task`, then every task its pushes trigger (ACR's base image trigger, emulated in order),
   * and deploys what the app tasks asked `az container create` to deploy.
   */
  async cascade(task: LabTask, trigger: string, o: { context?: string; seen?: Set<string> } = {}): Promise<RunRecord[]> {
    const seen = o.seen ?? new Set<string>();
    seen.add(task.name);
    const r = await this.run(task, trigger, { context: o.context });
    const out = [r];
    if (r.status === "succeeded") {
      for (const call of r.az) if (call[0] === "container" && call[1] === "create") this.aci.deploy(call);
      for (const image of r.pushed) {
        for (const next of triggeredBy(this.o.tasks, image)) {
          if (next.name === task.name) continue;
          out.push(...(await this.cascade(next, `base image update: ${image} (emulated)`, { seen })));
        }
      }
    }
    return out;
  }

  /** Runs every task not run yet, in first-run order (Terraform's schedule_run_now at apply), each with its cascade. */
  async firstRuns(): Promise<RunRecord[]> {
    const seen = new Set<string>();
    const out: RunRecord[] = [];
    for (const t of this.o.tasks) {
      // The signer image is the lab's own build (buildSigner).
      if (seen.has(t.name) || t.role === "signer") continue;
      out.push(...(await this.cascade(t, t.role === "upstream" ? "commit (emulated)" : "first run at apply (schedule_run_now, emulated)", { seen })));
    }
    return out;
  }

  /** Every repository, tag and digest of every local registry, by the login server each stands in for. */
  contents(): RegistryContents {
    return registryContents(this.o.host, this.o.registries);
  }

  /** Copies a manifest within a registry (what `az acr import --force` does server-side): the same digest under `to`. */
  copyTag(registryAddress: string, repo: string, from: string, to: string): void {
    copyManifest(this.o.host, registryAddress, repo, from, to);
  }

  /** Each deployed app: its image and the first 500 characters of its HTTP answer. */
  apps(): Record<string, { image: string; answer: string }> {
    return this.aci.answers();
  }
}

/**
 * The step records of a run, in the task file's order, from acb's log: "Step ID: x marked as
 * successful (elapsed time in seconds: n)" where the run got that far; else what each step's
 * container did ("Successfully executed container: x", "Container failed during run: x", "failed
 * to run step ID: x"), timed by the log's stamps. A step that never started was skipped.
 */
function steps(log: string, taskFile: string): StepRecord[] {
  let order: { id: string; cmd: string }[];
  try {
    const doc = YAML.parse(taskFile) as { steps?: { id?: string; cmd?: string }[] };
    order = (doc.steps ?? []).map((s, i) => ({ id: s.id ?? `acb_step_${i}`, cmd: s.cmd ?? "" }));
  } catch {
    // A task file that is YAML only once rendered (a user's, with a template in a plain scalar): the steps acb started, in order.
    order = [...new Set([...log.matchAll(/Executing step ID: (\S+)\. /g)].map((m) => m[1]))].map((id) => ({ id, cmd: "" }));
  }
  const marked = new Map<string, { status: StepRecord["status"]; seconds: number }>();
  for (const m of log.matchAll(/Step ID: (\S+) marked as (\w+) \(elapsed time in seconds: ([\d.]+)\)/g)) {
    marked.set(m[1], { status: m[2] === "successful" ? "succeeded" : m[2] === "failed" ? "failed" : "skipped", seconds: round(Number(m[3])) });
  }
  // acb's stamp, wherever a step's last output (without its newline) left it on the line.
  const stamp = (line: string) => {
    const m = /(\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d)/.exec(line);
    return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`) : NaN;
  };
  const started = new Map<string, number>();
  const ended = new Map<string, { ok: boolean; at: number }>();
  for (const line of log.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /Executing step ID: (\S+)\. /.exec(line))) started.set(m[1], stamp(line));
    else if ((m = /Successfully executed container: (\S+)$/.exec(line))) ended.set(m[1], { ok: true, at: stamp(line) });
    else if ((m = /(?:Container failed during run: (\S+)\.|failed to run step ID: (\S+?):)/.exec(line))) {
      // Both lines may come for one step; the first has the stamp.
      if (!ended.has(m[1] ?? m[2])) ended.set(m[1] ?? m[2], { ok: false, at: stamp(line) });
    }
  }
  return order.map(({ id, cmd }) => {
    const ran: StepRecord["ran"] = /^(az|mcr\.microsoft\.com\/acr\/azure-cli:)/.test(cmd) ? "stand-in" : "real";
    const m = marked.get(id);
    if (m) return { id, status: m.status, ran, seconds: m.seconds };
    const s = started.get(id);
    if (s === undefined) return { id, status: "skipped", ran, seconds: 0 };
    const e = ended.get(id);
    // Started and never ended: the run was stopped around it (another step failed, or a timeout).
    const seconds = e ? (e.at - s) / 1000 : 0;
    return { id, status: e?.ok ? "succeeded" : "failed", ran, seconds: Number.isFinite(seconds) ? round(seconds) : 0 };
  });
}

function azCalls(log: string): string[][] {
  const out: string[][] = [];
  for (const line of log.split("\n")) {
    const i = line.indexOf(AZ_MARK);
    if (i < 0) continue;
    out.push(line.slice(i + AZ_MARK.length).trim().split(/\s+/).filter(Boolean).map((b) => Buffer.from(b, "base64").toString("utf8")));
  }
  return out;
}

const round = (n: number) => Math.round(n * 100) / 100;
