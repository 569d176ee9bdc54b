/**
 * The lab's stand-in for Azure Container Instances: what an app task's `az container create`
 * asked for (recorded by the az stand-in) runs in the lab's daemon, with only its own loopback,
 * and is asked over HTTP there.
 */
import * as fs from "fs";
import * as path from "path";
import { LabError, LabHost, tail } from "./lab-host";
import type { StandIn } from "./lab-tasks";

export class LocalContainerInstances {
  private readonly deployed = new Map<string, { image: string; container: string; port: number }>();

  constructor(
    private readonly host: LabHost,
    private readonly work: string,
    private readonly standIn: (s: StandIn) => void,
  ) {}

  /** `az container create <args>`, done locally: the image runs (no network but its own loopback). */
  deploy(args: string[]): void {
    const opt = (name: string) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const name = opt("--name");
    const image = opt("--image");
    if (!name || !image) throw new LabError(`az container create without --name or --image: ${args.join(" ")}`);
    const container = `lab-aci-${name}`;
    const port = Number((opt("--ports") ?? "80").split(/\s+/)[0]);
    const host = this.host;
    // Container Instances pulls the image onto its own host: here a copy flattened into one
    // layer (export, import), so that the running app holds no layer of the base images and the
    // next run's agent starts without them. Its configuration goes with it.
    const config = JSON.parse(host.must(["docker", "image", "inspect", "--format", "{{json .Config}}", image])) as {
      Env?: string[]; Cmd?: string[] | null; Entrypoint?: string[] | null; WorkingDir?: string; User?: string;
    };
    const copy = `lab-aci/${name}:${image.split(":").pop()}`;
    const tar = path.join(this.work, `aci-${name}.tar`);
    const created = host.must(["docker", "create", image]).trim();
    host.must(["docker", "export", "-o", tar, created]);
    host.exec(["docker", "rm", "-f", created]);
    host.must(["docker", "import", ...(config.Entrypoint ? ["--change", `ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`] : []), ...(config.Cmd ? ["--change", `CMD ${JSON.stringify(config.Cmd)}`] : []), tar, copy]);
    fs.rmSync(tar, { force: true });
    host.exec(["docker", "rm", "-f", container]);
    const run = [...(config.Env ?? []).flatMap((e) => ["-e", e]), ...(config.WorkingDir ? ["-w", config.WorkingDir] : []), ...(config.User ? ["-u", config.User] : [])];
    host.must(["docker", "run", "-d", "--name", container, "--network", "none", ...run, copy]);
    for (const old of host.must(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `lab-aci/${name}`]).trim().split("\n")) {
      if (old && old !== copy) host.exec(["docker", "image", "rm", old]);
    }
    this.deployed.set(name, { image, container, port });
    this.standIn({ what: `Azure Container Instances (${name})`, why: "no Azure here: the image the task deployed runs in the lab's daemon (a copy in one layer), with only its own loopback, and is asked over HTTP there" });
  }

  /** Each deployed app: its image and the first 500 characters of its HTTP answer (waits up to 15 s for it to listen). */
  answers(): Record<string, { image: string; answer: string }> {
    const out: Record<string, { image: string; answer: string }> = {};
    for (const [name, d] of this.deployed) {
      const pid = this.host.must(["docker", "inspect", "--format", "{{.State.Pid}}", d.container]).trim();
      const script = `
        const http = require("http"); const until = Date.now() + 15000;
        const go = () => http.get({ host: "127.0.0.1", port: ${d.port}, path: "/" }, (res) => {
          let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => { process.stdout.write(b.slice(0, 500)); });
        }).on("error", (e) => { if (Date.now() < until) setTimeout(go, 200); else { console.error(e.message); process.exit(1); } });
        go();`;
      const r = pid && pid !== "0" ? this.host.exec(["nsenter", "-t", pid, "-n", process.execPath, "-e", script], { timeoutMs: 20_000 }) : undefined;
      const logs = this.host.exec(["docker", "logs", "--tail", "5", d.container]);
      out[name] = { image: d.image, answer: r && r.status === 0 ? r.stdout : `(no answer: ${tail(r?.stderr || logs.stdout + logs.stderr, 3)})` };
    }
    return out;
  }
}
