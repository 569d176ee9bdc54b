/**
 * The REAL azurerm provider, planning and applying against a STAND-IN Azure Resource Manager
 * (help/validation.md, "The real provider on a stand-in ARM"). The provider binary is the one from
 * the shared mirror; Azure is ../tools/arm-stand-in/server.js, a Node server answering what each test
 * cans (a route per method and path regex) and logging every request, plus a managed-identity token
 * endpoint handing out an unsigned token. So this proves the provider's own plan and apply logic
 * (its diff, ForceNew, what it records after an error), never what Azure answers.
 *
 * Every terraform command runs inside `unshare -n -m` (root only): a private network namespace with
 * only loopback, so no request can leave the machine, and a private mount namespace in which a hosts
 * file maps management.azure.com to 127.0.0.1 (../tools/arm-stand-in/in-netns.sh starts the server
 * there, runs terraform, ends the server). The server's certificate is made per test file with
 * openssl and trusted by the provider through SSL_CERT_FILE (Go reads it on Linux).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { atLeast, engine, MIRROR } from "./tf-runner";

export const SUB = "00000000-0000-0000-0000-000000000000";
export const TENANT = "11111111-2222-3333-4444-555555555555";
export const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr`;
export const taskId = (name: string) => `${REGISTRY_ID}/tasks/${name}`;

const TOOLS = path.join(__dirname, "..", "tools", "arm-stand-in");
const WRAPPER = path.join(TOOLS, "in-netns.sh");
const SERVER = path.join(TOOLS, "server.js");

export interface CannedResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}
/** A canned answer: the first route whose method and regex (on path and query) match answers, its responses in turn, the last repeated. */
export interface Route {
  method: string;
  path: string;
  responses: CannedResponse[];
}
export interface LoggedRequest {
  server: "arm" | "msi";
  method: string;
  path: string;
  body: string;
}
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every request the stand-ins received during this command, in order. */
  requests: LoggedRequest[];
  /** The stand-in server's pid (gone once the command has returned: the wrapper ends it). */
  serverPid: number;
  seconds: number;
}

/** The provider block for the stand-ins: managed identity from the stand-in token endpoint, no CLI, no registrations. */
export function providerBlock(): Record<string, unknown> {
  return {
    features: [{}],
    resource_provider_registrations: "none",
    subscription_id: SUB,
    tenant_id: TENANT,
    use_msi: true,
    msi_endpoint: "http://127.0.0.1:50342/metadata/identity/oauth2/token",
    use_cli: false,
  };
}

/** A root module on one exact azurerm version with the stand-in provider block. */
export function rootModule(version: string, resource: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return {
    terraform: {
      required_providers: { azurerm: { source: "hashicorp/azurerm", version } },
    },
    provider: { azurerm: [providerBlock()] },
    // Terraform refuses an empty `resource` object in JSON.
    ...(Object.keys(resource).length > 0 ? { resource } : {}),
  };
}

/** Why the harness cannot run here, or "" when it can. */
export function standInUnavailable(versions: readonly string[]): string {
  if (process.getuid?.() !== 0) return "root (unshare -n -m, port 443, the hosts bind mount)";
  for (const bin of ["unshare", "openssl", "ip"]) if (spawnSync("which", [bin]).status !== 0) return bin;
  // Root is not enough in a container without the capability to make namespaces.
  if (spawnSync("unshare", ["-n", "-m", "true"]).status !== 0) return "unshare -n -m that works here";
  const tf = engine(process.env.ACR_GATE_TERRAFORM ?? "terraform");
  if (tf.name !== "terraform" || !atLeast(tf.version, "1.11")) return "terraform 1.11+";
  if (!MIRROR) return "the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror)";
  for (const v of versions) {
    if (!fs.existsSync(path.join(MIRROR, "registry.terraform.io", "hashicorp", "azurerm", `terraform-provider-azurerm_${v}_linux_amd64.zip`))) return `azurerm ${v} in the mirror`;
  }
  return "";
}

/** Is `pid` our stand-in server still? (Checked before ending it, so a reused pid is never hit.) */
function isOurServer(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(SERVER);
  } catch {
    return false;
  }
}

export class ArmStandIn {
  readonly tf = process.env.ACR_GATE_TERRAFORM ?? "terraform";
  private readonly cert: string;
  private readonly key: string;
  private readonly hosts: string;
  private readonly env: NodeJS.ProcessEnv;
  private runs = 0;

  /** `work`: a temporary directory of the test file (the cert, hosts file, CLI config, runs). */
  constructor(private readonly work: string) {
    this.cert = path.join(work, "cert.pem");
    this.key = path.join(work, "key.pem");
    // A self-signed certificate for the one name the provider calls, valid for a day.
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=management.azure.com",
        "-addext",
        "subjectAltName=DNS:management.azure.com",
        "-keyout",
        this.key,
        "-out",
        this.cert,
      ],
      { encoding: "utf8" },
    );
    if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
    this.hosts = path.join(work, "hosts");
    fs.writeFileSync(this.hosts, "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 management.azure.com\n");
    const tfrc = path.join(work, "offline.tfrc");
    // Providers from the mirror only: nothing is ever fetched (and no network exists to fetch it).
    fs.writeFileSync(tfrc, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(MIRROR)}\n  }\n}\n`);
    this.env = {
      PATH: process.env.PATH,
      HOME: work,
      TF_CLI_CONFIG_FILE: tfrc,
      TF_IN_AUTOMATION: "1",
      CHECKPOINT_DISABLE: "1",
      SSL_CERT_FILE: this.cert,
    };
  }

  /** Runs one command (`terraform <args>`) in `dir` beside fresh stand-ins answering `routes`. */
  run(dir: string, args: readonly string[], routes: readonly Route[] = []): Promise<RunResult> {
    return this.exec(dir, [this.tf, ...args], routes);
  }

  /** Runs any command (argv) in `dir`, inside the namespaces, beside fresh stand-ins answering `routes`. */
  async exec(dir: string, argv: readonly string[], routes: readonly Route[] = []): Promise<RunResult> {
    const n = ++this.runs;
    const f = (name: string) => path.join(this.work, `run-${n}.${name}`);
    fs.writeFileSync(f("routes.json"), JSON.stringify(routes));
    fs.writeFileSync(
      f("config.json"),
      JSON.stringify({
        cert: this.cert,
        key: this.key,
        log: f("requests.jsonl"),
        routes: f("routes.json"),
        ready: f("ready"),
      }),
    );
    fs.writeFileSync(f("requests.jsonl"), "");
    const started = Date.now();
    try {
      // Asynchronous, so that two providers' runs can go on at once (each in its own namespace:
      // both servers listen on 127.0.0.1:443 without meeting).
      const [status, stdout, stderr] = await new Promise<[number | null, string, string]>((resolve, reject) => {
        const child = spawn("unshare", ["-n", "-m", WRAPPER, this.hosts, process.execPath, SERVER, f("config.json"), f("ready"), f("pid"), "--", ...argv], {
          cwd: dir,
          env: this.env,
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        // The wrapper's TERM trap ends terraform and the server.
        const timer = setTimeout(() => child.kill("SIGTERM"), 120_000);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve([code, out, err]);
        });
      });
      const requests = fs
        .readFileSync(f("requests.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as LoggedRequest);
      return {
        status,
        stdout,
        stderr,
        requests,
        serverPid: fs.existsSync(f("pid")) ? Number(fs.readFileSync(f("pid"), "utf8")) : 0,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      // The wrapper ends its server (on TERM too); should the wrapper itself have been killed
      // (KILL cannot be trapped), end the orphaned server here and fail the run: nothing may be left.
      const pid = fs.existsSync(f("pid")) ? Number(fs.readFileSync(f("pid"), "utf8")) : 0;
      if (pid > 0 && isOurServer(pid)) {
        process.kill(pid, "SIGKILL");
        throw new Error(`the stand-in server of run ${n} (pid ${pid}) outlived its wrapper`);
      }
    }
  }

  /**
   * A directory for one scenario: `main.tf.json`, an optional hand-made state, and the providers
   * of a shared `terraform init` of that version (linked, so each version is unpacked once).
   */
  async scenario(version: string, name: string, config: unknown, state?: unknown): Promise<string> {
    const init = path.join(this.work, `init-${version}`);
    if (!fs.existsSync(path.join(init, ".terraform.lock.hcl"))) {
      fs.mkdirSync(init, { recursive: true });
      fs.writeFileSync(path.join(init, "main.tf.json"), JSON.stringify(rootModule(version, {})));
      const r = await this.run(init, ["init", "-input=false", "-no-color"]);
      if (r.status !== 0) throw new Error(`terraform init of azurerm ${version} failed:\n${r.stdout}${r.stderr}`);
    }
    const dir = path.join(this.work, `${version}-${name}`);
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(init, ".terraform"), path.join(dir, ".terraform"));
    fs.copyFileSync(path.join(init, ".terraform.lock.hcl"), path.join(dir, ".terraform.lock.hcl"));
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config, null, 1));
    if (state !== undefined) fs.writeFileSync(path.join(dir, "terraform.tfstate"), JSON.stringify(state, null, 1));
    return dir;
  }
}

/** A version-4 state file of managed azurerm resources, as Terraform 1.11 writes it (hand-made). */
export function stateOf(
  resources: {
    type: string;
    name: string;
    attributes: Record<string, unknown>;
    schemaVersion?: number;
  }[],
): unknown {
  return {
    version: 4,
    terraform_version: "1.11.0",
    serial: 1,
    lineage: "acr-gate-stand-in-0000-000000000001",
    outputs: {},
    resources: resources.map((r) => ({
      mode: "managed",
      type: r.type,
      name: r.name,
      provider: 'provider["registry.terraform.io/hashicorp/azurerm"]',
      instances: [
        {
          schema_version: r.schemaVersion ?? 0,
          attributes: r.attributes,
          sensitive_attributes: [],
        },
      ],
    })),
  };
}

/** `address: actions` of every resource change of a `terraform show -json` plan. */
export function actionsOf(showJson: string): Record<string, string> {
  const plan = JSON.parse(showJson) as {
    resource_changes?: { address: string; change: { actions: string[] } }[];
  };
  return Object.fromEntries((plan.resource_changes ?? []).map((c) => [c.address, c.change.actions.join(",")]));
}
