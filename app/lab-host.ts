/**
 * The lab's private machine inside this one (help/lab.md): a Docker daemon and one local OCI
 * registry per registry of the config, in namespaces of their own, which nothing outside can
 * reach and which reach nothing outside.
 *
 * One `unshare --net --mount --pid --fork --mount-proc` process holds them all:
 * - net: a namespace with only loopback, so no step, build or scan can reach another host;
 * - mount: /run and the daemon's data on tmpfs in a private mount namespace, so the daemon's
 *   socket (/var/run/docker.sock, where acb mounts it into every step) never meets a daemon of
 *   the machine's, and every image, container, volume and overlay mount is gone with it;
 * - pid: the holder's shell is PID 1 there; when it exits the kernel ends every process inside
 *   (dockerd, containerd, the registries, acb and each step's container).
 * The shell waits on its standard input, a pipe from this process: the lab dying in any way
 * (SIGKILL included) ends the namespace, after the same way down as stop(): containers, the
 * daemon, cgroups, the tmpfs mount point and the lab's work directory.
 */
import { spawn, spawnSync, ChildProcess, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export class LabError extends Error {}

/**
 * A signal (SIGINT, SIGTERM) ended a command of the lab's: the whole process group got it (a
 * terminal's Ctrl-C). Thrown through everything, to the lab's own way down (app/lab.ts).
 */
export class LabInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** Throws {@link LabInterrupted} when a child of ours died of SIGINT or SIGTERM. */
export function checkInterrupted(signal: NodeJS.Signals | null): void {
  if (signal === "SIGINT" || signal === "SIGTERM") throw new LabInterrupted(signal);
}

/** What the lab needs on the machine, and the Debian package each comes from. */
export const HOST_PACKAGES: Readonly<Record<string, string>> = {
  dockerd: "docker.io",
  docker: "docker.io",
  "docker-registry": "docker-registry",
  busybox: "busybox-static",
  unshare: "util-linux",
  nsenter: "util-linux",
  ip: "iproute2",
  openssl: "openssl",
  pkill: "procps",
};

const which = (cmd: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
};

/**
 * Installs what is missing with apt (root only), or says exactly what to install. `busybox` must
 * be the static build: its applets are the shell and tools of the images the lab builds.
 */
export function ensureHostTools(log: (s: string) => void): Record<string, string> {
  const missing = () => Object.keys(HOST_PACKAGES).filter((c) => !which(c) || (c === "busybox" && !isStatic(which(c)!)));
  let gone = missing();
  if (gone.length) {
    const pkgs = [...new Set(gone.map((c) => HOST_PACKAGES[c]))];
    if (process.getuid?.() !== 0) throw new LabError(`the lab needs ${gone.join(", ")}: run as root, or install the Debian packages ${pkgs.join(" ")}`);
    if (!which("apt-get")) throw new LabError(`the lab needs ${gone.join(", ")} and there is no apt-get here: install ${pkgs.join(" ")} (Debian names)`);
    log(`installing ${pkgs.join(" ")} with apt-get (missing: ${gone.join(", ")})`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...pkgs]]) {
      const r = spawnSync("apt-get", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      if (r.status !== 0) throw new LabError(`apt-get ${args[0]} failed (exit ${r.status}): ${tail(r.stderr || r.stdout, 5)}`);
    }
    gone = missing();
    if (gone.length) throw new LabError(`still missing after apt-get: ${gone.join(", ")}`);
  }
  return Object.fromEntries(Object.keys(HOST_PACKAGES).map((c) => [c, which(c)!]));
}

function isStatic(file: string): boolean {
  const r = spawnSync("ldd", [file], { encoding: "utf8" });
  return r.status !== 0 || /not a dynamic executable|statically linked/.test(r.stdout + r.stderr);
}

/**
 * The environment of everything the lab starts: the docker CLI (the lab's, acb's) talks to the
 * lab's daemon and no other (no DOCKER_HOST or context of the user's, no config of theirs), and
 * nothing is told of a proxy (there is none inside; a daemon would try it).
 */
export function labEnv(dockerConfig: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DOCKER_|BUILDKIT_)|_proxy$/i.test(k)) env[k] = v;
  return { ...env, DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_CONFIG: dockerConfig };
}

export function tail(text: string | undefined, lines: number): string {
  return (text ?? "").trimEnd().split("\n").slice(-lines).join("\n");
}

export interface RegistrySpec {
  /** The login server it stands in for (`contoso.azurecr.io`, `docker.io`). */
  readonly stands: string;
  /** `localhost:<port>` inside the lab: plain HTTP, which docker, notation and oras each allow for localhost without a flag. */
  readonly address: string;
}

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The running lab: run commands inside with {@link exec}; {@link stop} (or this process ending) ends it. */
export class LabHost {
  private holder?: ChildProcess;
  private initPid?: number;
  private readonly mountPoint: string;
  private stopped = false;
  private get dockerConfig(): string {
    return path.join(this.logDir, "docker-config");
  }
  private get env(): NodeJS.ProcessEnv {
    return labEnv(this.dockerConfig);
  }
  private get shutdown(): string {
    return path.join(this.logDir, "shutdown.sh");
  }
  /**
   * The daemon's containers go under a cgroup named for this lab, never the machine's "docker";
   * relative, so under the daemon's own cgroup (the caller's limits hold for them too).
   */
  private get cgroup(): string {
    return path.basename(this.mountPoint).replace(/[^A-Za-z0-9-]/g, "");
  }

  private constructor(
    readonly logDir: string,
    readonly registries: readonly RegistrySpec[],
    private readonly abandon: string,
  ) {
    this.mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-lab-"));
  }

  /**
   * A lab not yet started: {@link boot} starts it, {@link stop} ends it (also while it boots).
   * Every registry of `stands` gets localhost:5000, 5001, ... in that order. `abandon`: what the
   * namespace removes by itself if this process dies (the lab's work directory).
   */
  static create(o: { logDir: string; stands: readonly string[]; abandon: string }): LabHost {
    return new LabHost(o.logDir, o.stands.map((stands, i) => ({ stands, address: `localhost:${5000 + i}` })), o.abandon);
  }

  /** Starts the namespaces, the daemon and the registries, and waits until each answers. */
  async boot(log: (s: string) => void): Promise<void> {
    try {
      await this.start(log);
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  private async start(log: (s: string) => void): Promise<void> {
    fs.mkdirSync(this.logDir, { recursive: true });
    const data = this.mountPoint;
    const registryConfigs = this.registries.map((r, i) => {
      const port = r.address.split(":")[1];
      // CNCF distribution: one registry per login server, storage on the namespace's tmpfs.
      const yml = `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${data}/registry-${i}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`;
      const f = path.join(this.logDir, `registry-${i}.yml`);
      fs.writeFileSync(f, yml);
      return f;
    });
    fs.writeFileSync(path.join(this.logDir, "daemon.json"), "{}\n");
    // The way down, run by stop() or by the holder when this process is gone: containers first
    // (an app's PID 1 may ignore SIGTERM; the daemon removes each one's cgroup), then the daemon,
    // then whatever cgroup directory is left (rmdir removes only empty ones).
    fs.writeFileSync(
      this.shutdown,
      [
        'ids="$(docker ps -aq 2>/dev/null)"; [ -z "$ids" ] || docker rm -f $ids > /dev/null 2>&1',
        'pid="$(cat /run/acr-gate-lab/dockerd.pid 2>/dev/null)"',
        'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; fi',
        // Under the daemon's own cgroup (the caller's limits hold), v1 or v2: children first.
        `find /sys/fs/cgroup -depth -type d -path '*/${this.cgroup}*' -exec rmdir {} + 2>/dev/null`,
        "exit 0",
      ].join("\n") + "\n",
    );
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cgroup = this.cgroup;
    const script = [
      "set -eu",
      "ip link set lo up",
      "mount -t tmpfs -o mode=0755 tmpfs /run",
      // The daemon's socket goes to /var/run (= /run): it must be this namespace's own tmpfs, never the machine's.
      '[ "$(stat -f -c %T /run)" = tmpfs ] || { echo "acr-gate lab: /run is not the namespace\'s own tmpfs" >&2; exit 1; }',
      `mount -t tmpfs -o mode=0700 tmpfs ${q(data)}`,
      // dockerd writes its key.json into /etc/docker (Debian's docker.io ships the directory): the namespace's own.
      "if [ -d /etc/docker ]; then mount -t tmpfs -o mode=0755 tmpfs /etc/docker; fi",
      "mkdir -p /run/acr-gate-lab",
      // Its own config file: a daemon.json of the machine's (hosts, proxies, mirrors) must not apply.
      `dockerd --config-file ${q(path.join(this.logDir, "daemon.json"))} --data-root ${q(data + "/docker")} --exec-root /run/acr-gate-lab/docker ` +
        `--pidfile /run/acr-gate-lab/dockerd.pid -H unix:///var/run/docker.sock --cgroup-parent ${cgroup} --iptables=false --ip6tables=false --bridge=none ` +
        `--ip-masq=false --userland-proxy=false --storage-driver overlay2 > ${q(path.join(this.logDir, "dockerd.log"))} 2>&1 &`,
      ...registryConfigs.map((c, i) => `docker-registry serve ${q(c)} > ${q(path.join(this.logDir, `registry-${i}.log`))} 2>&1 &`),
      "echo ready",
      // Until the lab closes this pipe or dies. Here, it died: the way down, then what it would have removed.
      "while read -r _; do :; done",
      "set +e",
      `sh ${q(this.shutdown)}`,
      `umount -l ${q(data)}; rmdir ${q(data)}; rm -rf ${q(this.abandon)}`,
      "exit 0",
    ].join("\n");
    fs.mkdirSync(this.dockerConfig, { recursive: true });
    // Its own process group: a terminal's Ctrl-C (the whole group) reaches this process, which
    // stops the lab in order, not the holder, which would end it without its way down.
    const holder = spawn("unshare", ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "sh", "-c", script], {
      stdio: ["pipe", "pipe", "pipe"],
      env: this.env,
      detached: true,
    });
    this.holder = holder;
    let err = "";
    holder.stderr!.on("data", (d) => (err += d));
    const ready = await new Promise<boolean>((resolve) => {
      let out = "";
      holder.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("ready")) resolve(true);
      });
      holder.on("exit", () => resolve(false));
    });
    if (!ready) throw new LabError(`the lab's namespaces did not start (unshare needs root): ${tail(err, 5)}`);
    const kids = fs.readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, "utf8").trim().split(/\s+/);
    this.initPid = Number(kids[0]);
    if (!this.initPid) throw new LabError("the lab's namespace holder has no child");
    // The daemon and every registry answer within 60 s, or the lab stops with their logs.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const d = this.exec(["docker", "version", "--format", "{{.Server.Version}}"]);
      const regs = this.registries.map((r) => this.exec(["busybox", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${r.address.split(":")[1]}/v2/`]).status === 0);
      if (d.status === 0 && regs.every(Boolean)) {
        log(`daemon ${d.stdout.trim()} and ${regs.length} registries up (loopback only)`);
        return;
      }
      if (Date.now() > deadline || holder.exitCode !== null) {
        const which = d.status !== 0 ? `dockerd (log: ${tail(fs.readFileSync(path.join(this.logDir, "dockerd.log"), "utf8"), 5)})` : "a registry";
        throw new LabError(`${which} did not start within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Runs `argv` inside the lab's namespaces (network, mounts, processes). */
  exec(argv: readonly string[], o: { input?: string | Buffer; timeoutMs?: number } = {}): RunResult {
    if (!this.initPid || this.stopped) throw new LabError("the lab is not running");
    const r: SpawnSyncReturns<string> = spawnSync("nsenter", ["-t", String(this.initPid), "-m", "-n", "-p", "--", ...argv], {
      input: o.input,
      encoding: "utf8",
      // Nothing inside may block the lab (and its signal handling) for long.
      timeout: o.timeoutMs ?? 600_000,
      killSignal: "SIGKILL",
      env: this.env,
      maxBuffer: 256 * 1024 * 1024,
    });
    checkInterrupted(r.signal);
    return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /** Like {@link exec}, failing with the command's last lines. */
  must(argv: readonly string[], o: { input?: string | Buffer; timeoutMs?: number } = {}): string {
    const r = this.exec(argv, o);
    if (r.status !== 0) throw new LabError(`${argv.slice(0, 3).join(" ")} failed (${r.signal ?? `exit ${r.status}`}): ${tail(r.stderr || r.stdout, 8)}`);
    return r.stdout;
  }

  /** The same as {@link exec}, but not blocking this process: acb runs, which the lab times. */
  spawn(argv: readonly string[]): ChildProcess {
    if (!this.initPid || this.stopped) throw new LabError("the lab is not running");
    return spawn("nsenter", ["-t", String(this.initPid), "-m", "-n", "-p", "--", ...argv], { stdio: ["ignore", "pipe", "pipe"], env: this.env });
  }

  /**
   * Ends the namespaces: containers and daemon gently (shutdown.sh, synchronously: a signal
   * handler may call this), then PID 1 of the namespace, and with it every process inside and
   * every mount. Idempotent.
   */
  stop(): void {
    if (this.stopped) return;
    if (this.initPid && isAlive(this.initPid)) {
      spawnSync("nsenter", ["-t", String(this.initPid), "-m", "-n", "-p", "--", "sh", this.shutdown], { timeout: 30_000, stdio: "ignore", env: this.env });
    }
    this.stopped = true;
    // PID 1 of the namespace: the kernel then ends every process inside, and only once they are
    // gone is it reaped by unshare, which then exits: waiting for unshare waits for all of them.
    if (this.initPid) {
      try {
        process.kill(this.initPid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const until = Date.now() + 10_000;
    while (Date.now() < until && this.holder?.pid && isAlive(this.holder.pid)) spawnSync("sleep", ["0.05"]);
    if (this.holder?.pid && isAlive(this.holder.pid)) {
      try {
        process.kill(this.holder.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    this.holder?.stdin?.destroy();
    try {
      fs.rmdirSync(this.mountPoint);
    } catch {
      /* still mounted in a namespace that is ending: empty either way */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
