/**
 * The user's description of their supply chain: parsing, defaults and validation.
 *
 * Every value a user can give enters here, is checked here once, and leaves as a fully resolved
 * {@link AcrGateConfig} with no optional fields left to guess. Errors are collected, not thrown one
 * at a time, so a user fixes a config in one pass: each names the field path, the value and the rule.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { checkName, RuleName } from "./rules";

export type UpstreamSource = "simulated" | "dockerhub";
/** How a task authenticates to a registry it pulls a base image from. */
export type TaskCredentialMode = "keyVaultToken" | "identity";
/** How a container group authenticates to the team registry it pulls the app image from. */
export type AciPullMode = "token" | "identity";
export type ScanMode = "enforce" | "report";
export type Severity = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW";

export interface RegistryConfig {
  readonly name: string;
  readonly resourceGroup: string;
  readonly zoneRedundancy: boolean;
  readonly dedicatedDataEndpoints: boolean;
  readonly replicaLocations: readonly string[];
  /** Days untagged manifests are kept before the registry purges them. */
  readonly untaggedRetentionDays: number;
  /** How tasks of other registries authenticate when they pull from this one. */
  readonly taskCredential: TaskCredentialMode;
}

export interface SimulatedImageConfig {
  readonly taskName: string;
  /** The image the task builds into the simulated registry, `repository:tag`. */
  readonly image: ImageRef;
  readonly repository: string;
  readonly taskFile: string;
}

export interface PublicRegistryConfig extends RegistryConfig {
  /** Tasks that build the simulated public images from Git (the walkthrough's `node-public`). */
  readonly images: readonly SimulatedImageConfig[];
}

export interface GatedImageConfig {
  /** Image in the upstream registry, `repository:tag`, e.g. `node:15-alpine`. */
  readonly source: ImageRef;
  /** Where the validated image is promoted in the base-artifacts registry. */
  readonly target: ImageRef;
  readonly taskName: string;
  readonly test: {
    readonly enabled: boolean;
    /** Git context holding the test Dockerfile (built FROM the source image) and its test script. */
    readonly context: string;
    readonly dockerfile: string;
    readonly timeoutSeconds: number;
  };
  readonly scan: {
    readonly enabled: boolean;
    readonly mode: ScanMode;
    readonly failOn: Severity;
    readonly ignoreUnfixed: boolean;
    readonly image: string;
    readonly timeoutSeconds: number;
  };
  /** Cron schedule (UTC) for a timer trigger, or null for none. */
  readonly timer: string | null;
  readonly baseImageTrigger: boolean;
  readonly allowUnvalidated: boolean;
}

export interface ImageRef {
  readonly repository: string;
  readonly tag: string;
}

export interface AppConfig {
  readonly name: string;
  readonly taskName: string;
  /** Name of the team registry the app is built into. */
  readonly registry: string;
  readonly repository: string;
  /** The gated image the app builds FROM. */
  readonly baseImage: ImageRef;
  readonly aci: {
    readonly name: string;
    readonly resourceGroup: string;
    readonly dnsLabel: string;
    readonly cpu: number;
    readonly memoryGb: number;
    readonly port: number;
    readonly initialImage: string;
    readonly pullWith: AciPullMode;
  };
}

export type BackendConfig =
  | { readonly type: "local"; readonly path: string }
  | {
      readonly type: "azurerm";
      readonly resourceGroupName: string;
      readonly storageAccountName: string;
      readonly containerName: string;
      readonly key: string;
    }
  | { readonly type: "partial" };

export interface AcrGateConfig {
  readonly stackName: string;
  readonly location: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly protection: { readonly locks: boolean };
  readonly backend: BackendConfig;
  readonly upstream: { readonly source: UpstreamSource; readonly dockerHubCredentials: boolean };
  /** The simulated Docker Hub; null in `dockerhub` mode when the user does not want it. */
  readonly publicRegistry: PublicRegistryConfig | null;
  readonly baseArtifactsRegistry: RegistryConfig;
  readonly teamRegistries: readonly RegistryConfig[];
  readonly keyVault: {
    readonly name: string;
    readonly resourceGroup: string;
    readonly existing: boolean;
    readonly softDeleteRetentionDays: number;
    readonly allowedIpRanges: readonly string[];
  };
  readonly tokenPasswordExpiryDays: number;
  readonly gatedImages: readonly GatedImageConfig[];
  readonly apps: readonly AppConfig[];
  /** Run each task once on creation so that base image tracking starts (see help/coexistence.md). */
  readonly firstRun: boolean;
}

export const SAMPLE_REPOS = "https://github.com/importing-public-content";

export interface PlannedPullToken {
  readonly registry: RegistryConfig;
  /** The walkthrough's `registry-<registry>-user`; also the user name at login. */
  readonly name: string;
  /** Repositories it may read, or null for all (`_repositories_pull`). */
  readonly repositories: readonly string[] | null;
}

/**
 * The pull tokens a config needs, and nothing more: one per registry that some consumer reads with
 * a Key Vault token (identity-mode consumers need none).
 */
export function plannedPullTokens(c: AcrGateConfig): PlannedPullToken[] {
  const token = (registry: RegistryConfig, repositories: readonly string[] | null): PlannedPullToken => ({
    registry,
    name: `registry-${registry.name}-user`,
    repositories: repositories && [...new Set(repositories)].sort(),
  });
  const out: PlannedPullToken[] = [];
  const pub = c.publicRegistry;
  if (pub && pub.taskCredential === "keyVaultToken" && c.upstream.source === "simulated") out.push(token(pub, null));
  if (c.baseArtifactsRegistry.taskCredential === "keyVaultToken" && c.apps.length > 0) {
    out.push(token(c.baseArtifactsRegistry, c.gatedImages.map((g) => g.target.repository)));
  }
  const tokenApps = new Map<string, string[]>();
  for (const a of c.apps) {
    if (a.aci.pullWith !== "token") continue;
    const repos = tokenApps.get(a.registry);
    if (repos) repos.push(a.name);
    else tokenApps.set(a.registry, [a.name]);
  }
  for (const t of c.teamRegistries) {
    const repos = tokenApps.get(t.name);
    if (repos) out.push(token(t, repos));
  }
  return out;
}

/** The walkthrough, as a config file would say it. Parsed like any user file. */
export const DEFAULT_CONFIG_YAML = `# The walkthrough "Task workflow to manage public registry content", as acr-gate config.
location: eastus
upstream:
  source: simulated
publicRegistry:
  name: publicregistry
  images:
    - taskName: node-public
      image: node:15-alpine
      repository: ${SAMPLE_REPOS}/base-image-node.git#main
baseArtifactsRegistry:
  name: contosobaseartifacts
teamRegistries:
  - name: contoso
keyVault:
  name: acr-task-credentials
gatedImages:
  - source: node:15-alpine
    taskName: base-import-node
    test:
      context: ${SAMPLE_REPOS}/import-baseimage-node.git#main
    scan:
      # node:15-alpine is end of life: an enforcing scan would block it on every run.
      # The scan still runs and its findings are in the task log.
      mode: report
apps:
  - name: hello-world
    registry: contoso
    repository: ${SAMPLE_REPOS}/hello-world.git#main
    baseImage: node:15-alpine
    aci:
      name: hello-world-aci
`;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads the file named by ACR_GATE_CONFIG, or the embedded walkthrough default. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AcrGateConfig {
  const file = env.ACR_GATE_CONFIG;
  if (!file) return parseConfig(DEFAULT_CONFIG_YAML, "default config");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [`ACR_GATE_CONFIG: cannot read ${JSON.stringify(file)}: ${(e as Error).message}`]);
  }
  return parseConfig(text, file);
}

/** Parses YAML (JSON is YAML too) and resolves defaults; throws {@link ConfigError} listing every problem. */
export function parseConfig(text: string, source = "config"): AcrGateConfig {
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `malformed YAML at line ${lines.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const r = new Reader();
  const config = readConfig(r, raw);
  if (r.problems.length > 0) throw new ConfigError(source, r.problems);
  return config;
}

// ---------------------------------------------------------------------------------------------
// A small typed reader: each accessor records a problem (path, value, rule) and returns a
// fallback, so that one pass reports everything.

type Obj = Record<string, unknown>;

class Reader {
  readonly problems: string[] = [];

  /** True when a problem was already recorded at `path` or below it. */
  has(path: string): boolean {
    return this.problems.some((p) => p.startsWith(`${path}:`) || p.startsWith(`${path}.`) || p.startsWith(`${path}[`));
  }

  fail(path: string, value: unknown, rule: string): void {
    this.problems.push(`${path}: ${value === undefined ? "missing" : JSON.stringify(value)} ${rule}`);
  }

  object(path: string, value: unknown, allowed: readonly string[]): Obj {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      this.fail(path, value, "must be a mapping");
      return {};
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.problems.push(`${path ? `${path}.` : ""}${key}: unknown key (allowed: ${allowed.join(", ")})`);
      }
    }
    return value as Obj;
  }

  list(path: string, value: unknown, fallback: unknown[]): unknown[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value)) {
      this.fail(path, value, "must be a list");
      return [];
    }
    return value;
  }

  string(path: string, value: unknown, fallback?: string): string {
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      // A missing parent is reported once, not once per required child.
      const parent = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
      if (!parent || !this.problems.some((p) => p.startsWith(`${parent}:`))) this.fail(path, undefined, "is required");
      return "";
    }
    if (typeof value !== "string" || value.length === 0) {
      this.fail(path, value, "must be a non-empty string");
      return fallback ?? "";
    }
    return value;
  }

  /**
   * A string that must satisfy a naming rule. A default derived from another field (`derivedFrom`)
   * is not checked again when that field already failed: one mistake, one message.
   */
  name(path: string, value: unknown, rule: RuleName, fallback?: string, derivedFrom?: string): string {
    const v = this.string(path, value, fallback);
    const derivedFailed = value === undefined && derivedFrom !== undefined && this.has(derivedFrom);
    if ((v !== "" || value !== undefined) && !derivedFailed) {
      const problem = checkName(rule, v);
      if (problem && !this.problems.some((p) => p.startsWith(`${path}:`))) this.fail(path, v, problem);
    }
    return v;
  }

  bool(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") {
      this.fail(path, value, "must be true or false");
      return fallback;
    }
    return value;
  }

  int(path: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, value, `must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  number(path: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.fail(path, value, `must be a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(path: string, value: unknown, options: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string" || !options.includes(value as T)) {
      this.fail(path, value, `must be one of ${options.join(", ")}`);
      return fallback;
    }
    return value as T;
  }

  image(path: string, value: unknown, fallback?: ImageRef): ImageRef {
    if ((value === undefined || value === null) && fallback) return fallback;
    const v = this.string(path, value);
    const m = /^([^:@\s]+):([^:@\s]+)$/.exec(v);
    if (!m) {
      if (v) this.fail(path, v, "must be 'repository:tag', e.g. 'node:15-alpine' (no registry host, no digest)");
      return { repository: v, tag: "" };
    }
    const [, repository, tag] = m;
    const host = repository.includes("/") && /[.:]|^localhost$/.test(repository.split("/")[0]);
    const rp = host
      ? "must not name a registry host: the upstream is set by upstream.source"
      : (checkName("repository", repository) ?? checkName("tag", tag));
    if (rp) this.fail(path, v, rp);
    return { repository, tag };
  }

  unique<T>(path: string, items: readonly T[], key: (t: T) => string, what: string): void {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      if (!k) return;
      const first = seen.get(k);
      if (first !== undefined) this.fail(`${path}[${i}]`, k, `duplicates ${what} of ${path}[${first}]`);
      else seen.set(k, i);
    });
  }
}

const TOP_KEYS = [
  "stackName",
  "location",
  "tags",
  "protection",
  "backend",
  "upstream",
  "publicRegistry",
  "baseArtifactsRegistry",
  "teamRegistries",
  "keyVault",
  "tokenPasswordExpiryDays",
  "gatedImages",
  "apps",
  "firstRun",
] as const;

const REGISTRY_KEYS = [
  "name",
  "resourceGroup",
  "zoneRedundancy",
  "dedicatedDataEndpoints",
  "replicaLocations",
  "untaggedRetentionDays",
  "taskCredential",
];

function readConfig(r: Reader, raw: unknown): AcrGateConfig {
  const top = r.object("", raw, TOP_KEYS);
  const stackName = r.string("stackName", top.stackName, "acr-gate");
  if (!/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(stackName)) {
    r.fail("stackName", stackName, "must be 1-63 letters, digits and hyphens, starting with a letter");
  }
  const location = r.name("location", top.location, "location", "eastus");

  const tagsRaw = r.object("tags", top.tags, Object.keys((top.tags as Obj) ?? {}));
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(tagsRaw)) {
    if (typeof v !== "string") r.fail(`tags.${k}`, v, "must be a string");
    else tags[k] = v;
  }

  const prot = r.object("protection", top.protection, ["locks"]);
  const protection = { locks: r.bool("protection.locks", prot.locks, true) };

  const backend = readBackend(r, top.backend, stackName);

  const up = r.object("upstream", top.upstream, ["source", "dockerHubCredentials"]);
  const source = r.oneOf("upstream.source", up.source, ["simulated", "dockerhub"] as const, "simulated");
  const upstream = {
    source,
    dockerHubCredentials: r.bool("upstream.dockerHubCredentials", up.dockerHubCredentials, source === "dockerhub"),
  };

  const registry = (path: string, value: unknown, extraKeys: string[] = []): RegistryConfig => {
    const o = r.object(path, value, [...REGISTRY_KEYS, ...extraKeys]);
    const name = r.name(`${path}.name`, o.name, "registry");
    return {
      name,
      resourceGroup: r.name(`${path}.resourceGroup`, o.resourceGroup, "resourceGroup", `${name}-rg`, `${path}.name`),
      zoneRedundancy: r.bool(`${path}.zoneRedundancy`, o.zoneRedundancy, true),
      dedicatedDataEndpoints: r.bool(`${path}.dedicatedDataEndpoints`, o.dedicatedDataEndpoints, true),
      replicaLocations: r.list(`${path}.replicaLocations`, o.replicaLocations, []).map((v, i) => {
        const loc = r.name(`${path}.replicaLocations[${i}]`, v, "location");
        if (loc === location) r.fail(`${path}.replicaLocations[${i}]`, loc, "must differ from location (the registry's own)");
        return loc;
      }),
      untaggedRetentionDays: r.int(`${path}.untaggedRetentionDays`, o.untaggedRetentionDays, 7, 1, 365),
      taskCredential: r.oneOf(
        `${path}.taskCredential`,
        o.taskCredential,
        ["keyVaultToken", "identity"] as const,
        "keyVaultToken",
      ),
    };
  };

  let publicRegistry: PublicRegistryConfig | null = null;
  if (top.publicRegistry !== undefined && top.publicRegistry !== null) {
    const pr = registry("publicRegistry", top.publicRegistry, ["images"]);
    const rawImages = (top.publicRegistry as Obj).images;
    const images = r.list("publicRegistry.images", rawImages, []).map((raw, i) => {
      const p = `publicRegistry.images[${i}]`;
      const o = r.object(p, raw, ["taskName", "image", "repository", "taskFile"]);
      return {
        taskName: r.name(`${p}.taskName`, o.taskName, "task"),
        image: r.image(`${p}.image`, o.image),
        repository: r.name(`${p}.repository`, o.repository, "gitContext"),
        taskFile: r.string(`${p}.taskFile`, o.taskFile, "acr-task.yaml"),
      };
    });
    publicRegistry = { ...pr, images };
  } else if (source === "simulated") {
    r.fail("publicRegistry", undefined, "is required when upstream.source is 'simulated'");
  }

  if (top.baseArtifactsRegistry === undefined) r.fail("baseArtifactsRegistry", undefined, "is required");
  const baseArtifactsRegistry = registry("baseArtifactsRegistry", top.baseArtifactsRegistry);

  const teamList = r.list("teamRegistries", top.teamRegistries, []);
  if (teamList.length === 0) r.fail("teamRegistries", top.teamRegistries, "must list at least one team registry");
  const teamRegistries = teamList.map((t, i) => registry(`teamRegistries[${i}]`, t));

  const allRegistries = [...(publicRegistry ? [publicRegistry] : []), baseArtifactsRegistry, ...teamRegistries];
  r.unique("registries", allRegistries, (x) => x.name.toLowerCase(), "the name");

  const kv = r.object("keyVault", top.keyVault, [
    "name",
    "resourceGroup",
    "existing",
    "softDeleteRetentionDays",
    "allowedIpRanges",
  ]);
  const kvName = r.name("keyVault.name", kv.name, "keyVault");
  const keyVault = {
    name: kvName,
    resourceGroup: r.name("keyVault.resourceGroup", kv.resourceGroup, "resourceGroup", `${kvName}-rg`, "keyVault.name"),
    existing: r.bool("keyVault.existing", kv.existing, false),
    softDeleteRetentionDays: r.int("keyVault.softDeleteRetentionDays", kv.softDeleteRetentionDays, 90, 7, 90),
    allowedIpRanges: r.list("keyVault.allowedIpRanges", kv.allowedIpRanges, []).map((v, i) => {
      const s = r.string(`keyVault.allowedIpRanges[${i}]`, v);
      if (s && !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(s)) {
        r.fail(`keyVault.allowedIpRanges[${i}]`, s, "must be an IPv4 address or CIDR range");
      }
      return s;
    }),
  };

  const tokenPasswordExpiryDays = r.int("tokenPasswordExpiryDays", top.tokenPasswordExpiryDays, 365, 1, 3650);

  const gatedImages = r.list("gatedImages", top.gatedImages, []).map((g, i) => readGatedImage(r, g, i));
  if (gatedImages.length === 0) r.fail("gatedImages", top.gatedImages, "must list at least one gated image");
  r.unique("gatedImages", gatedImages, (g) => `${g.target.repository}:${g.target.tag}`, "the target");
  r.unique("gatedImages", gatedImages, (g) => g.taskName, "the taskName");

  const teamNames = new Set(teamRegistries.map((t) => t.name));
  const targets = new Set(gatedImages.map((g) => `${g.target.repository}:${g.target.tag}`));
  const apps = r.list("apps", top.apps, []).map((a, i) => readApp(r, a, i, teamNames, targets));
  r.unique("apps", apps, (a) => a.name, "the name");
  r.unique("apps", apps, (a) => `${a.registry}/${a.taskName}`, "the task (registry/taskName)");
  r.unique("apps", apps, (a) => `${a.aci.resourceGroup}/${a.aci.name}`, "the container group");
  r.unique("apps", apps, (a) => a.aci.dnsLabel, "the dnsLabel");

  const simulatedTasks = publicRegistry?.images ?? [];
  r.unique("publicRegistry.images", simulatedTasks, (s) => s.taskName, "the taskName");

  // In simulated mode a gate imports what a simulated image task builds; with nothing building it,
  // the gate's first run (and so the first apply) would fail.
  if (source === "simulated" && publicRegistry && !r.has("publicRegistry") && !r.has("gatedImages")) {
    const built = new Set(publicRegistry.images.map((s) => `${s.image.repository}:${s.image.tag}`));
    gatedImages.forEach((g, i) => {
      const ref = `${g.source.repository}:${g.source.tag}`;
      if (!built.has(ref)) {
        r.fail(`gatedImages[${i}].source`, ref, "must be built by one of publicRegistry.images (upstream.source is 'simulated')");
      }
    });
  }

  // Durable content must not share a resource group with what a refactor may destroy.
  const durableGroups = new Set([...allRegistries.map((x) => x.resourceGroup), keyVault.resourceGroup]);
  apps.forEach((a, i) => {
    if (durableGroups.has(a.aci.resourceGroup)) {
      r.fail(
        `apps[${i}].aci.resourceGroup`,
        a.aci.resourceGroup,
        "must not be a registry's or the key vault's resource group (durable content lives in its own group)",
      );
    }
  });

  const config: AcrGateConfig = {
    stackName,
    location,
    tags,
    protection,
    backend,
    upstream,
    publicRegistry,
    baseArtifactsRegistry,
    teamRegistries,
    keyVault,
    tokenPasswordExpiryDays,
    gatedImages,
    apps,
    firstRun: r.bool("firstRun", top.firstRun, true),
  };

  // Token names are derived from registry names and capped at 49 characters: check the derived
  // name here, where the message can point at the registry name that causes it.
  for (const t of plannedPullTokens(config)) {
    const path =
      t.registry === publicRegistry
        ? "publicRegistry"
        : t.registry === baseArtifactsRegistry
          ? "baseArtifactsRegistry"
          : `teamRegistries[${teamRegistries.indexOf(t.registry)}]`;
    const problem = t.registry.name && !r.has(`${path}.name`) ? checkName("token", t.name) : undefined;
    if (problem) r.fail(`${path}.name`, t.registry.name, `is too long for its pull token: ${JSON.stringify(t.name)} ${problem}`);
  }
  return config;
}

function readBackend(r: Reader, raw: unknown, stackName: string): BackendConfig {
  const o = r.object("backend", raw, [
    "type",
    "path",
    "resourceGroupName",
    "storageAccountName",
    "containerName",
    "key",
  ]);
  const type = r.oneOf("backend.type", o.type, ["local", "azurerm", "partial"] as const, "local");
  if (type === "local") {
    const path = r.string("backend.path", o.path, "terraform.tfstate");
    if (path.startsWith("/") || /^[a-zA-Z]:[\\/]/.test(path)) {
      r.fail("backend.path", path, "must be relative (the JSON must not carry a path of the synthesizing machine)");
    }
    return { type, path };
  }
  if (type === "azurerm") {
    const storageAccountName = r.string("backend.storageAccountName", o.storageAccountName);
    if (storageAccountName && !/^[a-z0-9]{3,24}$/.test(storageAccountName)) {
      r.fail("backend.storageAccountName", storageAccountName, "must be 3-24 lowercase letters and digits");
    }
    return {
      type,
      resourceGroupName: r.name("backend.resourceGroupName", o.resourceGroupName, "resourceGroup"),
      storageAccountName,
      containerName: r.string("backend.containerName", o.containerName, "tfstate"),
      key: r.string("backend.key", o.key, `${stackName}.tfstate`),
    };
  }
  return { type };
}

const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
/** Trivy, pinned by version: the gate must not change because a scanner image moved. */
export const DEFAULT_SCANNER_IMAGE = "aquasec/trivy:0.58.1";

function readGatedImage(r: Reader, raw: unknown, i: number): GatedImageConfig {
  const p = `gatedImages[${i}]`;
  const o = r.object(p, raw, ["source", "target", "taskName", "test", "scan", "timer", "baseImageTrigger", "allowUnvalidated"]);
  const source = r.image(`${p}.source`, o.source);
  const target = r.image(`${p}.target`, o.target, {
    repository: source.repository.replace(/^library\//, ""),
    tag: source.tag,
  });
  const defaultTaskName = `base-import-${target.repository.replace(/[^a-zA-Z0-9-]/g, "-")}`.slice(0, 50);
  const t = r.object(`${p}.test`, o.test, ["enabled", "context", "dockerfile", "timeoutSeconds"]);
  const testEnabled = r.bool(`${p}.test.enabled`, t.enabled, true);
  const test = {
    enabled: testEnabled,
    context: testEnabled ? r.name(`${p}.test.context`, t.context, "gitContext") : "",
    dockerfile: r.string(`${p}.test.dockerfile`, t.dockerfile, "Dockerfile"),
    timeoutSeconds: r.int(`${p}.test.timeoutSeconds`, t.timeoutSeconds, 600, 60, 3600),
  };
  const s = r.object(`${p}.scan`, o.scan, ["enabled", "mode", "failOn", "ignoreUnfixed", "image", "timeoutSeconds"]);
  const scan = {
    enabled: r.bool(`${p}.scan.enabled`, s.enabled, true),
    mode: r.oneOf(`${p}.scan.mode`, s.mode, ["enforce", "report"] as const, "enforce"),
    failOn: r.oneOf(`${p}.scan.failOn`, s.failOn, SEVERITIES, "HIGH"),
    ignoreUnfixed: r.bool(`${p}.scan.ignoreUnfixed`, s.ignoreUnfixed, true),
    image: r.string(`${p}.scan.image`, s.image, DEFAULT_SCANNER_IMAGE),
    timeoutSeconds: r.int(`${p}.scan.timeoutSeconds`, s.timeoutSeconds, 900, 60, 3600),
  };
  if (scan.image && !/^[^\s:@]+(:[\w][\w.-]*)?(@sha256:[0-9a-f]{64})?$/.test(scan.image)) {
    r.fail(`${p}.scan.image`, scan.image, "must be an image reference");
  } else if (scan.image && !/:[\w][\w.-]*$|@sha256:/.test(scan.image.replace(/^[^/]*:\d+\//, "")) || /:latest$/.test(scan.image)) {
    r.fail(`${p}.scan.image`, scan.image, "must be pinned to a version tag or digest (not 'latest')");
  }
  const timer = o.timer === undefined || o.timer === null ? null : r.name(`${p}.timer`, o.timer, "cron");
  const allowUnvalidated = r.bool(`${p}.allowUnvalidated`, o.allowUnvalidated, false);
  if (!test.enabled && !(scan.enabled && scan.mode === "enforce") && !allowUnvalidated) {
    r.fail(
      p,
      `${source.repository}:${source.tag}`,
      "would be promoted unvalidated: enable test, or scan with mode 'enforce', or set allowUnvalidated: true",
    );
  }
  const baseImageTrigger = r.bool(`${p}.baseImageTrigger`, o.baseImageTrigger, true);
  if (!test.enabled && timer === null) {
    // Without the test build no step has the source as its runtime base image, so ACR cannot track it.
    r.fail(`${p}.timer`, undefined, "is required when test.enabled is false: no base image trigger can see the source");
  }
  if (!baseImageTrigger && timer === null) {
    r.fail(`${p}.timer`, undefined, "is required when baseImageTrigger is false: nothing would ever run the gate");
  }
  return {
    source,
    target,
    taskName: r.name(`${p}.taskName`, o.taskName, "task", defaultTaskName, `${p}.target`),
    test,
    scan,
    timer,
    baseImageTrigger,
    allowUnvalidated,
  };
}

function readApp(
  r: Reader,
  raw: unknown,
  i: number,
  teams: ReadonlySet<string>,
  gatedTargets: ReadonlySet<string>,
): AppConfig {
  const p = `apps[${i}]`;
  const o = r.object(p, raw, ["name", "taskName", "registry", "repository", "baseImage", "aci"]);
  const name = r.string(`${p}.name`, o.name);
  if (name && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name)) {
    r.fail(`${p}.name`, name, "must be a lowercase image repository name (letters, digits, '.', '_', '-')");
  }
  const registry = r.string(`${p}.registry`, o.registry);
  if (registry && !teams.has(registry) && !r.has("teamRegistries") && !r.has("registries")) {
    r.fail(`${p}.registry`, registry, `must name one of teamRegistries (${[...teams].join(", ")})`);
  }
  const baseImage = r.image(`${p}.baseImage`, o.baseImage);
  const ref = `${baseImage.repository}:${baseImage.tag}`;
  if (baseImage.tag && !gatedTargets.has(ref) && !r.has("gatedImages")) {
    r.fail(`${p}.baseImage`, ref, `must be the target of a gated image (${[...gatedTargets].join(", ")})`);
  }
  const a = r.object(`${p}.aci`, o.aci, [
    "name",
    "resourceGroup",
    "dnsLabel",
    "cpu",
    "memoryGb",
    "port",
    "initialImage",
    "pullWith",
  ]);
  const aciName = r.name(`${p}.aci.name`, a.name, "containerGroup", name ? `${name}-aci` : undefined);
  return {
    name,
    // The walkthrough names the task after the app; names under 5 characters get a prefix.
    taskName: r.name(`${p}.taskName`, o.taskName, "task", name.length >= 5 ? name : `build-${name}`, `${p}.name`),
    registry,
    repository: r.name(`${p}.repository`, o.repository, "gitContext"),
    baseImage,
    aci: {
      name: aciName,
      resourceGroup: r.name(`${p}.aci.resourceGroup`, a.resourceGroup, "resourceGroup", `${aciName}-rg`, `${p}.aci.name`),
      dnsLabel: r.name(`${p}.aci.dnsLabel`, a.dnsLabel, "dnsLabel", aciName, `${p}.aci.name`),
      cpu: r.number(`${p}.aci.cpu`, a.cpu, 1, 0.1, 4),
      memoryGb: r.number(`${p}.aci.memoryGb`, a.memoryGb, 1.5, 0.1, 16),
      port: r.int(`${p}.aci.port`, a.port, 80, 1, 65535),
      initialImage: r.string(`${p}.aci.initialImage`, a.initialImage, "mcr.microsoft.com/azuredocs/aci-helloworld:latest"),
      pullWith: r.oneOf(`${p}.aci.pullWith`, a.pullWith, ["token", "identity"] as const, "token"),
    },
  };
}
