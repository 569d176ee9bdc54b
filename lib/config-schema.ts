/**
 * The config file, declared once: every key with its type, default, rule and meaning (zod 4).
 *
 * The TypeScript types, the defaults, the cross-field rules, the JSON Schema editors use
 * (`acr-gate.schema.json`) and the key tables of help/configuration.md all come from here.
 * Messages keep one form, `<field path>: <value> <rule>`, every problem at once (lib/config.ts
 * formats them). The rule every string obeys, whatever field it is in (no Terraform or Go template
 * syntax, no control characters), is {@link untrustedTextProblem}, applied by {@link walkUntrustedText}.
 */
import { z } from "zod";
import { Token } from "cdktf";
import { anyCase, checkName, NameRule, RuleName, RULES } from "./rules";
import { AZURE_LOCATIONS } from "./azure-regions";
import { addressPart } from "./principal";
import { CACHE_NAMESPACE, CACHE_REFRESH_TIMER, cachedRepository } from "./artifact-cache";
import { AZURERM_VERSIONS, DEFAULT_AZURERM_VERSION } from "./provider-versions";

// A config is parsed once per process: zod's generated fast path for objects (code built and
// compiled with new Function on the first parse) costs more than that one parse gains, about 4 ms
// of the default synth (help/performance.md). The results are the same either way.
z.config({ jitless: true });

// ---------------------------------------------------------------------------------------------
// The rule every string of the file obeys, whatever field it is in: config text stays data. It runs
// on the parsed file before the fields' own rules (lib/config.ts), over every string and every key,
// so a new field cannot forget it; acr-gate.schema.json carries it as a pattern no string may match.

/** Longest string anywhere in the file (Git URLs and image references stay far below). */
export const MAX_STRING = 2048;
/** Nesting depth of mappings and lists; the schema is 4 deep, this is headroom, not a feature. */
export const MAX_DEPTH = 32;

/** Why a piece of text cannot be config text, or undefined. Applied to every string and key of the file. */
export function untrustedTextProblem(s: string): string | undefined {
  if (s.includes("${")) return "must not contain '${' (Terraform evaluates it as an expression in the JSON)";
  if (s.includes("%{")) return "must not contain '%{' (Terraform evaluates it as a template directive in the JSON)";
  if (s.includes("{{") || s.includes("}}")) return "must not contain '{{' or '}}' (ACR renders task files as Go templates)";
  // cdktf's own placeholders for values known only at synth: in config text they would be
  // resolved (or crash the synth) instead of staying text.
  if (/[$#&]\{TfToken\[/.test(s) || s === Token.STRING_MAP_TOKEN_VALUE || s === Token.ANY_MAP_TOKEN_VALUE) {
    return "must not contain a cdktf token marker ('${TfToken[', '#{TfToken[', '&{TfToken[' or a map token value)";
  }
  // Terraform reads JSON strings and keys in Unicode normal form C: other forms would come back changed.
  if (s !== s.normalize("NFC")) return "must be in Unicode normal form C (Terraform would normalize it, changing the text)";
  // Line breaks forge lines in task files, shell commands and messages; bidi controls hide text from review.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(s)) {
    return "must not contain control characters, line breaks or bidirectional-text controls";
  }
  if (s.length > MAX_STRING) return `is longer than ${MAX_STRING} characters`;
  return undefined;
}

/**
 * Applies {@link untrustedTextProblem} to every string and key of the parsed file and returns a
 * copy in which null-valued keys hold undefined (YAML's `key:` with nothing after it means "not
 * set", while the key itself is still checked: a misspelled one is refused). `report`
 * receives each problem with its path, and the refused value (a key's problem names the key).
 */
export function walkUntrustedText(
  value: unknown,
  report: (path: (string | number)[], value: string | undefined, problem: string) => void,
  path: (string | number)[] = [],
  depth = 0,
): unknown {
  if (depth > MAX_DEPTH) {
    report(path, undefined, `nests mappings and lists more than ${MAX_DEPTH} deep`);
    return undefined;
  }
  if (typeof value === "string") {
    const problem = untrustedTextProblem(value);
    if (problem) report(path, value, problem);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => walkUntrustedText(v, report, [...path, i], depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // `__proto__` would set the prototype, not a key, where a later step copies the mapping.
      const problem = k === "__proto__" ? "is a reserved name" : untrustedTextProblem(k);
      if (problem) report([...path, k], undefined, `the key ${problem}`);
      // `key:` with nothing after it is "not set": kept as undefined, so that a misspelled key
      // left empty is still an unknown key, and a tag without a value is still refused.
      if (v === null) {
        Object.defineProperty(out, k, { value: undefined, enumerable: true, writable: true, configurable: true });
        continue;
      }
      Object.defineProperty(out, k, { value: walkUntrustedText(v, report, [...path, k], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Field primitives. Each carries its own message for a wrong type, so a user reads the rule, not
// zod's vocabulary.

type Issue = { readonly input?: unknown };
const requiredOr = (message: string) => (iss: Issue) => (iss.input === undefined ? "is required" : message);

/**
 * A string that must satisfy one of the naming rules of lib/rules.ts. The rule's pattern goes into
 * the JSON Schema too (editors check it as you type); its extra checks live only here.
 */
/** A tag or a digest after the repository (a registry host's port aside): the pin rule of scan.image and signing.signerImage. */
const PINNED_IMAGE = "^(?:[^/]*[.:][^/]*/)?[^:@]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*(?:@|$)|@sha256:)";

function named(rule: RuleName, description: string, field: { patterns?: string[]; notPatterns?: string[] } = {}) {
  return z
    .string({ error: requiredOr("must be a non-empty string") })
    .superRefine((v, ctx) => {
      const problem = checkName(rule, v);
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: v });
    })
    .meta({ description, ...ruleJsonSchema(rule, field), ...(rule === "location" ? { enum: [...AZURE_LOCATIONS] } : {}) });
}

/** A naming rule as JSON Schema keywords: its pattern, and what its extra checks say that a schema can (lib/rules.ts). */
function ruleJsonSchema(rule: RuleName, field: { patterns?: string[]; notPatterns?: string[] } = {}): Record<string, unknown> {
  const r = RULES[rule] as NameRule;
  const patterns = [...(r.schema?.patterns ?? []), ...(field.patterns ?? [])];
  const notPatterns = [...(r.schema?.notPatterns ?? []), ...(field.notPatterns ?? [])];
  const all = [...patterns.map((p) => ({ pattern: p })), ...notPatterns.map((p) => ({ not: { pattern: p } }))];
  return {
    pattern: r.schema?.pattern ?? r.pattern.source,
    ...(r.schema?.maxLength !== undefined ? { maxLength: r.schema.maxLength } : {}),
    ...(all.length ? { allOf: all } : {}),
  };
}

function int(min: number, max: number, fallback: number, description: string) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .number({ error: message })
    .superRefine((v, ctx) => {
      if (!Number.isInteger(v) || v < min || v > max) ctx.addIssue({ code: "custom", message, input: v });
    })
    .default(fallback)
    .meta({ description, type: "integer", minimum: min, maximum: max });
}

function decimal(min: number, max: number, fallback: number, description: string) {
  const message = `must be a number from ${min} to ${max}`;
  return z
    .number({ error: message })
    .superRefine((v, ctx) => {
      if (v < min || v > max) ctx.addIssue({ code: "custom", message, input: v });
    })
    .default(fallback)
    .meta({ description, minimum: min, maximum: max });
}

function bool(fallback: boolean, description: string) {
  return z.boolean({ error: "must be true or false" }).default(fallback).meta({ description });
}

function oneOf<const T extends readonly [string, ...string[]]>(options: T, fallback: T[number], description: string) {
  return z
    .enum(options, { error: `must be one of ${options.join(", ")}` })
    .default(fallback as never)
    .meta({ description });
}

/** A mapping with exactly these keys: a misspelled key is an error that names the allowed ones. */
function strict<S extends z.ZodRawShape>(shape: S, description: string) {
  const allowed = Object.keys(shape).join(", ");
  return z
    .strictObject(shape, {
      error: (iss) =>
        iss.code === "unrecognized_keys" ? `unknown key (allowed: ${allowed})` : iss.input === undefined ? "is required" : "must be a mapping",
    })
    .meta({ description });
}

function list<T extends z.ZodType>(item: T, description: string, required = "is required") {
  return z.array(item, { error: (iss) => (iss.input === undefined ? required : "must be a list") }).meta({ description });
}

// ---------------------------------------------------------------------------------------------
// The sections of the file.

/**
 * Trivy 0.58.1, from GitHub's registry and pinned by digest: ACR's shared agents pull Docker Hub
 * anonymously (rate limited), and a tag can be moved. The digest is the multi-platform index that
 * aquasec/trivy:0.58.1 on Docker Hub carries too (help/security.md).
 */
/** Where the default signer image lives in the base-artifacts registry (help/signer/Dockerfile). */
export const SIGNER_REPOSITORY = "tools/notation-azure-kv";
export const SIGNER_TAG = "1.3.2-1.2.1-oras1.2.0";
export const SIGNER_TASK = "build-signer";
export const DEFAULT_SCANNER_IMAGE = "ghcr.io/aquasecurity/trivy:0.58.1@sha256:ab70a02200597efa04748f210f793936eb647cbcdb0ea69cc30b226d6f5a22c7";
export const DEFAULT_INITIAL_IMAGE = "mcr.microsoft.com/azuredocs/aci-helloworld:latest";
export const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;

const registryShape = {
  name: named("registry", "Registry name: 5-50 letters and digits, globally unique in Azure; names of all registries must differ; not `dockerhub` (acr-gate's own secret names)", {
    notPatterns: [`${anyCase("dockerhub")}$`],
  }),
  resourceGroup: named("resourceGroup", "Its resource group (default `<name>-rg`), locked when protection.locks").optional(),
  zoneRedundancy: bool(true, "Premium zone redundancy; changing it later replaces the registry, so choose at creation (false in a region without zones)"),
  dedicatedDataEndpoints: bool(true, "Serve layers from `<name>.<location>.data.azurecr.io`, so a client firewall can allow exactly this registry"),
  replicaLocations: list(named("location", "An Azure region"), "Regions to geo-replicate to (each costs a Premium registry); not the registry's own location, no repeats")
    .meta({ uniqueItems: true })
    .default([]),
  untaggedRetentionDays: int(1, 365, 7, "Days untagged manifests are kept; tagged images (every promoted rollback tag) are never purged"),
  taskCredential: oneOf(
    ["keyVaultToken", "identity"] as const,
    "keyVaultToken",
    "How tasks pulling from this registry authenticate: a pull token whose name and password sit in Key Vault (the walkthrough's), or the task identity with AcrPull (nothing to rotate)",
  ),
};
const registrySchema = strict(registryShape, "A Premium registry");
const teamRegistrySchema = strict(
  {
    ...registryShape,
    taskCredential: z
      .never({ error: "has no effect: no task pulls from a team registry (apps choose how their container group pulls with aci.pullWith)" })
      .optional()
      .meta({ description: "Not applicable to team registries" }),
  },
  "A team's Premium registry",
);

const simulatedImageSchema = strict(
  {
    taskName: named("task", "Task name: 5-50 letters, digits, '-' and '_'"),
    image: named("imageTag", "The `repository:tag` the task builds into the public registry, e.g. `node:15-alpine`"),
    repository: named("gitContext", "Git context with the Dockerfile and task file"),
    taskFile: named("relativePath", "Task file inside the context").default("acr-task.yaml"),
  },
  "A task building a simulated public image (the walkthrough's node-public)",
);

const gatedImageSchema = strict(
  {
    source: named("imageTag", "`repository:tag` at the upstream, e.g. `node:15-alpine`; no registry host, no digest"),
    target: named("imageTag", "`repository:tag` it is promoted to in base artifacts (default: the source's, without `library/`); a tag of at most 100 characters (the rollback tag adds `-<run id>`)", {
      notPatterns: [":[^:]{101,}$"],
    }).optional(),
    taskName: named("task", "Gate task name (default `base-import-<target repository>`)").optional(),
    test: strict(
      {
        enabled: bool(true, "Run the functional test"),
        context: named("gitContext", "Git context with a Dockerfile built FROM the source (build args REGISTRY_FROM_URL, SOURCE_IMAGE) whose command is the test; required when enabled").optional(),
        dockerfile: named("relativePath", "Dockerfile path inside the test context").default("Dockerfile"),
        timeoutSeconds: int(60, 3600, 600, "Seconds the test may run"),
      },
      "The functional test: a non-zero exit blocks promotion",
    ).prefault({}),
    scan: strict(
      {
        enabled: bool(true, "Run the vulnerability scan (Trivy)"),
        mode: oneOf(["enforce", "report"] as const, "enforce", "`enforce` blocks promotion on findings at failOn or above; `report` only logs them"),
        failOn: oneOf(SEVERITIES, "HIGH", "Lowest severity that counts (that severity and above)"),
        ignoreUnfixed: bool(true, "Ignore findings without a fixed version"),
        image: named("imageReference", "Scanner image, pinned to a version tag or digest (never `latest`); never Trivy 0.69.4-0.69.6 (malicious releases, help/security.md)", {
          // The cross-field check's pin and compromised-release rules (below), for editors.
          patterns: [PINNED_IMAGE],
          notPatterns: [":latest(?:@|$)", "(?:^|/)[Tt][Rr][Ii][Vv][Yy]:[Vv]?0\\.69\\.[456](?:-[A-Za-z0-9]+)?(?:@|$)"],
        }).default(DEFAULT_SCANNER_IMAGE),
        timeoutSeconds: int(60, 3600, 900, "Seconds the scan may run"),
      },
      "The vulnerability scan",
    ).prefault({}),
    timer: named("cron", "Five-field cron schedule (UTC); required when test.enabled is false or baseImageTrigger is false").nullable().optional(),
    baseImageTrigger: z
      .boolean({ error: "must be true or false" })
      .optional()
      .meta({ description: "Run when the source image changes, seen through the test image's base (default: test.enabled; impossible without the test)" }),
    allowUnvalidated: bool(false, "Must be true to promote with neither a test nor an enforcing scan"),
  },
  "A public image imported through the gate",
).meta({
  description: "A public image imported through the gate",
  // For editors, the cross-field rule below: the test is on unless `test.enabled: false`, and then needs its context.
  anyOf: [
    { properties: { test: { type: "object", properties: { enabled: { const: false } }, required: ["enabled"] } }, required: ["test"] },
    { properties: { test: { type: "object", required: ["context"] } }, required: ["test"] },
  ],
});

const appSchema = strict(
  {
    name: named("appName", "The app, also its image repository in the team registry"),
    taskName: named("task", "Build-and-deploy task name (default: name, or `build-<name>` when shorter than 5)").optional(),
    registry: z
      .string({ error: requiredOr("must be a non-empty string") })
      .min(1, { error: "must be a non-empty string" })
      .meta({ description: "The name of one of teamRegistries" }),
    repository: named("gitContext", "Git context with the app's Dockerfile (`ARG REGISTRY_FROM_URL`, `FROM ${REGISTRY_FROM_URL}<base image>`)"),
    baseImage: named("imageTag", "The target of one of gatedImages: apps build only from gated images"),
    aci: strict(
      {
        name: named("containerGroup", "Container group name (default `<name>-aci`)").optional(),
        resourceGroup: named("resourceGroup", "Its resource group (default `<aci.name>-rg`); never a registry's or the vault's").optional(),
        dnsLabel: named(
          "dnsLabel",
          "DNS name label, unique in the region across all of Azure (default `<aci.name>-<6 hex>`, the hex from the resource group id, so a second environment gets its own)",
        ).optional(),
        cpu: decimal(0.1, 4, 1, "CPU cores"),
        memoryGb: decimal(0.1, 16, 1.5, "Memory in GB"),
        port: int(1, 65535, 80, "The TCP port served on the public IP"),
        initialImage: named("imageReference", "What the group runs until the app's first build deploys").default(DEFAULT_INITIAL_IMAGE),
        pullWith: oneOf(["token", "identity"] as const, "token", "How the group pulls from the team registry: its repository-scoped token, or a user-assigned identity with AcrPull"),
      },
      "The app's Azure Container Instances group",
    ).prefault({}),
  },
  "An app built FROM a gated image and deployed to a container group",
);

const shape = {
  stackName: named("stackName", "The stack's directory under cdktf.out/stacks/ (in the split layout, the platform stack's; each team's is <stackName>-<team registry>)").default("acr-gate"),
  layout: oneOf(
    ["single", "split"] as const,
    "single",
    "`single`: one stack, one state (the walkthrough's); `split`: a platform stack plus one stack per team registry, each with its own state (help/split.md)",
  ),
  environment: named(
    "environment",
    "A name for this environment (dev, prod): recorded with the subscription in each state's `terraform_data.environment`, and part of the default state file and blob names (`<stackName>-<environment>.tfstate`)",
  ).optional(),
  location: named("location", "Azure region of every resource").default("eastus"),
  azurermVersion: oneOf(
    AZURERM_VERSIONS,
    DEFAULT_AZURERM_VERSION,
    "The azurerm provider version the JSON pins and is written for; only versions CI validates. 5.x differs from 4.x in one attribute acr-gate writes (a geo-replica's routing), so choose it here rather than by editing the pin (help/versions.md)",
  ),
  tags: z
    .record(z.string(), z.string({ error: "must be a string" }).meta(ruleJsonSchema("tagValue")))
    .default({})
    .meta({
      description: "Tags on every resource besides `managed-by: acr-gate` (container groups get none: `az container create` drops them)",
      // What the cross-field check below says of one mapping, for editors: 49 (acr-gate adds the 50th), Azure's name and value rules.
      maxProperties: 49,
      propertyNames: ruleJsonSchema("tagKey", { notPatterns: [`${anyCase("managed-by")}$`, "^__proto__$"] }),
    }),
  protection: strict(
    {
      locks: bool(true, "CanNotDelete lock on each durable resource group (registries, vault)"),
      preventDestroy: bool(true, "Terraform refuses to plan the destruction of a registry or the vault (`lifecycle.prevent_destroy`); false only for a sandbox you tear down"),
      liftLocks: list(
        named("resourceGroup", "A durable resource group of this config"),
        "Durable resource groups whose lock is lifted for one apply, to delete something in them (`npm run diff` names them under [LOCKED]); remove them again after that apply (help/operations.md, \"Locks\")",
      ).default([]),
    },
    "Protection of durable content",
  ).prefault({}),
  backend: strict(
    {
      type: oneOf(["local", "azurerm", "partial"] as const, "local", "Where Terraform keeps state: a local file, an Azure storage blob, or azurerm completed by `terraform init -backend-config`"),
      path: named(
        "statePath",
        "local: state file path relative to the stack directory (default `../../../<stackName>.tfstate`: beside cdktf.out, where re-synth keeps it)",
      ).optional(),
      resourceGroupName: named("resourceGroup", "azurerm: the state storage account's resource group").optional(),
      storageAccountName: named("storageAccount", "azurerm: the state storage account").optional(),
      containerName: named("storageContainer", "azurerm: blob container (default `tfstate`)").optional(),
      key: named("blobName", "azurerm: blob name (default `<stackName>.tfstate`)").optional(),
      useAzureadAuth: z
        .boolean({ error: "must be true or false" })
        .optional()
        .meta({
          description:
            "azurerm and partial: sign in to the state storage with Entra ID (`use_azuread_auth`, the default: true), so per-container data roles separate the states; false falls back to the account key, which reads and writes every state in the account",
        }),
    },
    "Terraform backend",
  ).prefault({}),
  upstream: strict(
    {
      source: oneOf(
        ["simulated", "dockerhub", "cache"] as const,
        "simulated",
        "`simulated`: gates import from the simulated public registry; `dockerhub`: from docker.io; `cache`: from docker.io through the base-artifacts registry's artifact cache (help/artifact-cache.md)",
      ),
      // No static default: it derives from source (derive.dockerHubCredentials), so absent must stay absent.
      dockerHubCredentials: z
        .boolean({ error: "must be true or false" })
        .optional()
        .meta({ description: "Store Docker Hub credentials (sensitive variables dockerhub_username/_password) and use them for every pull from docker.io (default true with dockerhub and cache, else false)" }),
    },
    "Where public images come from",
  ).prefault({}),
  publicRegistry: strict(
    { ...registryShape, images: list(simulatedImageSchema, "Tasks building the simulated public images").default([]) },
    "The simulated public registry (required when upstream.source is simulated)",
  ).optional(),
  baseArtifactsRegistry: registrySchema,
  teamRegistries: list(teamRegistrySchema, "One registry per team, at least one", "must list at least one team registry").meta({ minItems: 1 }),
  keyVault: strict(
    {
      name: named("keyVault", "Vault name: 3-24 letters, digits and hyphens, globally unique"),
      resourceGroup: named("resourceGroup", "Its resource group (default `<name>-rg`)").optional(),
      existing: bool(false, "Use a vault that exists (access-policy mode) instead of creating it and its group"),
      softDeleteRetentionDays: int(7, 90, 90, "Soft-delete retention of a created vault"),
      allowedIpRanges: list(
        named("ipv4Range", "IPv4 address or CIDR"),
        "Not supported: ACR task agents read the vault from addresses that are not fixed and are not a Key Vault trusted service, so a vault firewall would break every task; must be empty",
      )
        .meta({ maxItems: 0 })
        .default([]),
    },
    "The Key Vault holding tokens and the Git token",
  ),
  tokenPasswordExpiryDays: int(1, 3650, 365, "Days until pull token passwords (and their secrets) expire"),
  tokenRotation: z
    .number({ error: "must be a whole number from 0 to 100000" })
    .superRefine((v, ctx) => {
      if (!Number.isInteger(v) || v < 0 || v > 100000) ctx.addIssue({ code: "custom", message: "must be a whole number from 0 to 100000", input: v });
    })
    .optional()
    .meta({
      description:
        "Rotation with an overlap: every pull token gets a second one (`<registry>-alt`) and the two alternate; the vault holds the active one's login (slot tokenRotation % 2). Raise it by one to rotate: the other token gets a fresh password and becomes active, the previous one keeps working until the next rotation, so readers that apply later (split team stacks) never break. Unset: one token, rotated by replacing its time_static (help/operations.md)",
      type: "integer",
      minimum: 0,
      maximum: 100000,
    }),
  gatedImages: list(gatedImageSchema, "Gated public images, at least one", "must list at least one gated image").meta({ minItems: 1 }),
  apps: list(appSchema, "Apps").default([]),
  firstRun: bool(true, "Run each task once on creation, upstream first (base image tracking starts only after a run)"),
  deployers: list(
    strict(
      {
        name: named("deployerName", "A name for the identity, the key of its access policy (`...deployer[\"<name>\"]`)"),
        objectId: named("objectId", "Its Entra ID object id (a user, a group, or a CI service principal)"),
        renamedFrom: named("deployerName", "The name this deployer had before: its policy moves to the new name (a `moved` block) instead of being deleted and created again; drop it after the apply").optional(),
      },
      "An identity that runs terraform plan and apply on this stack",
    ),
    "The identities that deploy (people, groups, CI principals), each with its own access policy on the vault acr-gate creates; the default of the Terraform variable `deployers`. Empty: the variable is required at plan time (help/operations.md, \"Deployers\")",
  ).default([]),
  diagnostics: strict(
    {
      enabled: bool(false, "Send every registry's repository and login events and the vault's audit events to Log Analytics (help/audit-logs.md)"),
      workspaceId: named("logWorkspaceId", "An existing workspace to send them to, by resource id (default: acr-gate creates one)").optional(),
      workspaceName: named("logWorkspace", "Name of the workspace acr-gate creates (default `<keyVault.name>-audit`)").optional(),
      resourceGroup: named("resourceGroup", "Its resource group (default `<workspaceName>-rg`), locked when protection.locks").optional(),
      retentionDays: int(30, 730, 90, "Days the created workspace keeps logs (31 are in the ingestion price)"),
      dailyQuotaGb: int(0, 10000, 0, "Daily ingestion cap of the created workspace in GB, 0 for none (past the cap, logs are dropped until the next day)"),
    },
    "Audit logs (off by default)",
  ).prefault({}),
  signing: strict(
    {
      enabled: bool(false, "Sign every promoted image with Notation and a Key Vault certificate, by the gate's own identity (help/signing.md)"),
      certificateName: named("keyVaultCertificate", "The signing certificate's name in the vault; not `github-token` or `registry-*` (Key Vault keeps a certificate's secret under its name)", {
        notPatterns: [`${anyCase("github-token")}$`, anyCase("registry-")],
      }).default("acr-gate-signing"),
      existingCertificate: bool(false, "Use the certificate of that name already in the vault (it must meet Notation's rules) instead of creating a self-signed one"),
      subject: named("certificateSubject", "Subject of the self-signed certificate, what verifiers trust (default `CN=<baseArtifactsRegistry.name>.azurecr.io,O=acr-gate,ST=Washington,C=US`: set your organization's)").optional(),
      validityMonths: int(1, 120, 12, "Validity of the self-signed certificate; Key Vault renews it 30 days before expiry"),
      signerContext: named(
        "gitContext",
        "A Git folder of yours holding help/signer/Dockerfile, `https://github.com/<owner>/<repo>.git#<branch>:<folder>`: acr-gate builds the signer image from it in base artifacts before the gates' first runs (task build-signer)",
      ).optional(),
      signerImage: named(
        "imageReference",
        "Or an image you built and keep from help/signer/Dockerfile: notation with the azure-kv plugin, oras, bash, base64 and openssl; pinned by tag or digest, in the base-artifacts registry (gates and app tasks pull it there); it must exist before the gates' first runs",
        { patterns: [PINNED_IMAGE], notPatterns: [":latest(?:@|$)"] },
      ).optional(),
    },
    "Signed promotions (off by default)",
  ).prefault({}),
};

/** The file as written: shapes, types, static defaults and single-field rules. */
export const configFileSchema = strict(shape, "acr-gate configuration");
export type ConfigFile = z.output<typeof configFileSchema>;

// ---------------------------------------------------------------------------------------------
// Derived defaults: computed once, for the rules below and for the resolved config. Each returns
// undefined when what it derives from is itself invalid, so one mistake gives one message.

const valid = (rule: RuleName, v: unknown): v is string => typeof v === "string" && checkName(rule, v) === undefined;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const derive = {
  registryGroup: (r: Record<string, unknown>) => str(r.resourceGroup) ?? (valid("registry", r.name) ? `${r.name}-rg` : undefined),
  vaultGroup: (kv: Record<string, unknown>) => str(kv.resourceGroup) ?? (valid("keyVault", kv.name) ? `${kv.name}-rg` : undefined),
  gateTarget: (g: Record<string, unknown>) => str(g.target) ?? (valid("imageTag", g.source) ? g.source.replace(/^library\//, "") : undefined),
  gateTaskName: (g: Record<string, unknown>) => {
    if (str(g.taskName)) return g.taskName as string;
    const target = derive.gateTarget(g);
    return target ? `base-import-${target.split(":")[0].replace(/[^a-zA-Z0-9-]/g, "-")}`.slice(0, 50) : undefined;
  },
  appTaskName: (a: Record<string, unknown>) =>
    str(a.taskName) ?? (valid("appName", a.name) ? (a.name.length >= 5 ? a.name : `build-${a.name}`) : undefined),
  aciName: (a: Record<string, unknown>) => str(rec(a.aci).name) ?? (valid("appName", a.name) ? `${a.name.replace(/[._]/g, "-")}-aci` : undefined),
  aciGroup: (a: Record<string, unknown>) => {
    const aci = rec(a.aci);
    if (str(aci.resourceGroup)) return aci.resourceGroup as string;
    const name = derive.aciName(a);
    return name && valid("containerGroup", name) ? `${name}-rg` : undefined;
  },
  /** The fixed part of the default DNS label; Terraform appends `-<6 hex>` of the resource group id. */
  dnsLabelPrefix: (a: Record<string, unknown>) => {
    const name = derive.aciName(a);
    return name && valid("containerGroup", name) ? name.slice(0, 56).replace(/-+$/, "") : undefined;
  },
  dockerHubCredentials: (c: Record<string, unknown>) => {
    const up = rec(c.upstream);
    return typeof up.dockerHubCredentials === "boolean" ? up.dockerHubCredentials : up.source === "dockerhub" || up.source === "cache";
  },
  workspaceName: (c: Record<string, unknown>) => {
    const d = rec(c.diagnostics);
    const kv = rec(c.keyVault);
    return str(d.workspaceName) ?? (valid("keyVault", kv.name) ? `${kv.name}-audit` : undefined);
  },
  signingSubject: (c: Record<string, unknown>) => {
    const base = rec(c.baseArtifactsRegistry);
    return str(rec(c.signing).subject) ?? (valid("registry", base.name) ? `CN=${base.name.toLowerCase()}.azurecr.io,O=acr-gate,ST=Washington,C=US` : undefined);
  },
  signerImage: (c: Record<string, unknown>) => {
    const base = rec(c.baseArtifactsRegistry);
    return str(rec(c.signing).signerImage) ?? (valid("registry", base.name) ? `${base.name.toLowerCase()}.azurecr.io/${SIGNER_REPOSITORY}:${SIGNER_TAG}` : undefined);
  },
  workspaceGroup: (c: Record<string, unknown>) => {
    const d = rec(c.diagnostics);
    const name = derive.workspaceName(c);
    return str(d.resourceGroup) ?? (name ? `${name}-rg` : undefined);
  },
};

// ---------------------------------------------------------------------------------------------
// Rules across fields. They run even when single fields failed (zod's `when`), on whatever parsed,
// so a problem in one section never hides an unrelated one in another; each rule skips values that
// already failed their own rule. Everything is indexed by key: 2,000 apps stay linear.

type Path = (string | number)[];
type Ctx = z.RefinementCtx;

function fail(ctx: Ctx, path: Path, input: unknown, message: string): void {
  ctx.addIssue({ code: "custom", path, input, message });
}

/** A few names for a message: every offending entry repeats it, so it must stay short. */
const some = (names: readonly string[]) => (names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")} and ${names.length - 5} more`);

const fmtPath = (path: Path) => path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/**
 * One namespace of names that must not collide: Azure's own comparison (case-insensitive for
 * resource groups, registries, vaults, tasks) and the Terraform address derived from the name
 * (`addressPart`: lower case, runs of other characters as `_`), which must map one name to one
 * resource or one of them silently disappears from the JSON.
 */
class Namespace {
  private readonly byKey = new Map<string, { path: Path; value: string }>();
  private readonly byAddress = new Map<string, { path: Path; value: string }>();
  constructor(
    private readonly what: string,
    /** The Terraform address the name becomes, or null when no address derives from it. */
    private readonly addressPrefix: string | null,
    private readonly caseInsensitive = true,
    /** How "must differ" names several: "task names in x", not "task name in xs". */
    private readonly plural = what.replace(/^(.*?\w)( in .*)?$/, (_m, head: string, tail = "") => `${head}s${tail}`),
  ) {}

  /** Records a name; returns false (and reports) when it clashes with an earlier, different entry. */
  claim(ctx: Ctx, path: Path, value: string | undefined, sameEntityOk = false): boolean {
    if (!value) return true;
    const key = this.caseInsensitive ? value.toLowerCase() : value;
    const first = this.byKey.get(key);
    if (first) {
      if (first.value === value && sameEntityOk) return true;
      const why =
        first.value === value
          ? `is also the ${this.what} at ${fmtPath(first.path)}`
          : `is the ${this.what} ${JSON.stringify(first.value)} at ${fmtPath(first.path)} spelled differently (Azure compares these names case-insensitively)`;
      fail(ctx, path, value, `${why}; ${this.plural} must differ`);
      return false;
    }
    const address = this.addressPrefix === null ? undefined : `${this.addressPrefix}${addressPart(value)}`;
    const same = address === undefined ? undefined : this.byAddress.get(address);
    if (same) {
      fail(
        ctx,
        path,
        value,
        `would share the Terraform address ${address} with ${JSON.stringify(same.value)} at ${fmtPath(same.path)}; choose names that differ in more than case, '-', '_' and '.'`,
      );
      return false;
    }
    this.byKey.set(key, { path, value });
    if (address !== undefined) this.byAddress.set(address, { path, value });
    return true;
  }

  get(value: string): { path: Path; value: string } | undefined {
    return this.byKey.get(this.caseInsensitive ? value.toLowerCase() : value);
  }
}

/** Registry names that acr-gate uses for secrets of its own (`registry-dockerhub-user`). */
const RESERVED_REGISTRY_NAMES = new Set(["dockerhub"]);

function crossFieldRules(raw: unknown, ctx: Ctx): void {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return; // "the file: must be a mapping" says it all
  const c = rec(raw);
  tokenNameRule(c, ctx);
  const location = str(c.location) ?? "eastus";
  const source = c.upstream === undefined ? "simulated" : rec(c.upstream).source ?? "simulated";
  const simulated = source === "simulated";

  // --- protection.liftLocks: only groups this config locks ---
  const lift = arr(rec(c.protection).liftLocks);
  if (lift.length && rec(c.protection).locks === false) fail(ctx, ["protection", "liftLocks"], lift, "has no effect: protection.locks is false, so no group is locked");
  else if (lift.length) {
    const kv = rec(c.keyVault);
    const durable = new Set(
      [
        ...[c.publicRegistry, c.baseArtifactsRegistry, ...arr(c.teamRegistries)].filter((r) => r !== undefined && r !== null).map((r) => derive.registryGroup(rec(r))),
        kv.existing === true ? undefined : derive.vaultGroup(kv),
        rec(c.diagnostics).enabled === true && rec(c.diagnostics).workspaceId === undefined ? derive.workspaceGroup(c) : undefined,
      ]
        .filter((g): g is string => g !== undefined)
        .map((g) => g.toLowerCase()),
    );
    lift.forEach((g, i) => {
      if (typeof g === "string" && !durable.has(g.toLowerCase()))
        fail(ctx, ["protection", "liftLocks", i], g, `is not a durable resource group of this config (those are: ${[...durable].sort().join(", ")})`);
    });
  }

  // --- deployers: one policy each, keyed by name; Key Vault keeps one entry per object id ---
  if (Array.isArray(c.deployers) && c.deployers.length && rec(c.keyVault).existing === true)
    fail(ctx, ["deployers"], c.deployers, "has no effect with keyVault.existing: acr-gate grants deployers only on a vault it creates (the existing vault's owner grants access)");
  if (Array.isArray(c.deployers)) {
    const names = new Namespace("deployer name", null);
    const ids = new Namespace("deployer object id", null);
    c.deployers.forEach((d, i) => {
      const r = rec(d);
      if (typeof r.name === "string") names.claim(ctx, ["deployers", i, "name"], r.name);
      if (typeof r.objectId === "string") ids.claim(ctx, ["deployers", i, "objectId"], r.objectId.toLowerCase());
    });
    const current = new Set(c.deployers.map((d) => rec(d).name).filter((n): n is string => typeof n === "string"));
    const renamed = new Namespace("former deployer name", null);
    c.deployers.forEach((d, i) => {
      const from = rec(d).renamedFrom;
      if (typeof from !== "string") return;
      if (current.has(from)) fail(ctx, ["deployers", i, "renamedFrom"], from, "is the name of a deployer listed now; a rename names a former one");
      else renamed.claim(ctx, ["deployers", i, "renamedFrom"], from);
    });
  }

  // --- tags ---
  const tags = rec(c.tags);
  const tagKeys = Object.keys(tags);
  if (tagKeys.length > 49) fail(ctx, ["tags"], tags, `has ${tagKeys.length} tags; Azure allows 50 per resource and acr-gate adds managed-by`);
  const tagNames = new Namespace("tag name", null);
  for (const k of tagKeys) {
    tagNames.claim(ctx, ["tags", k], k); // Azure compares tag names case-insensitively
    const problem = k.toLowerCase() === "managed-by" ? "is set by acr-gate itself" : checkName("tagKey", k);
    if (problem) fail(ctx, ["tags", k], k, problem);
    if (typeof tags[k] === "string") {
      const vp = checkName("tagValue", tags[k] as string);
      if (vp) fail(ctx, ["tags", k], tags[k], vp);
    }
  }

  // --- backend: which keys belong to which type ---
  const backend = rec(c.backend);
  const btype = backend.type ?? "local";
  const keysOf: Record<string, string[]> = {
    local: ["path"],
    azurerm: ["resourceGroupName", "storageAccountName", "containerName", "key", "useAzureadAuth"],
    partial: ["useAzureadAuth"],
  };
  if (typeof btype === "string" && keysOf[btype]) {
    for (const k of ["path", "resourceGroupName", "storageAccountName", "containerName", "key", "useAzureadAuth"]) {
      if (backend[k] !== undefined && !keysOf[btype].includes(k)) fail(ctx, ["backend", k], backend[k], `does not apply to backend.type '${btype}'`);
    }
    // Split on azurerm: each team's state in its own container, <containerName>-<team registry>.
    if (btype === "azurerm" && c.layout === "split") {
      const container = typeof backend.containerName === "string" ? backend.containerName : "tfstate";
      arr(c.teamRegistries).forEach((t, i) => {
        const name = rec(t).name;
        if (typeof name !== "string" || !valid("registry", name)) return;
        const teamContainer = `${container}-${name.toLowerCase()}`;
        const problem = checkName("storageContainer", teamContainer);
        if (problem) fail(ctx, ["teamRegistries", i, "name"], name, `gives the team state container ${JSON.stringify(teamContainer)}, which ${problem}; shorten backend.containerName or the registry name`);
      });
    }
    if (btype === "azurerm") {
      for (const k of ["resourceGroupName", "storageAccountName"]) {
        if (backend[k] === undefined) fail(ctx, ["backend", k], undefined, "is required when backend.type is 'azurerm'");
      }
    }
  }

  // --- registries ---
  const registries: { path: Path; r: Record<string, unknown> }[] = [];
  if (c.publicRegistry !== undefined && c.publicRegistry !== null) registries.push({ path: ["publicRegistry"], r: rec(c.publicRegistry) });
  else if (simulated) fail(ctx, ["publicRegistry"], undefined, "is required when upstream.source is 'simulated'");
  if (c.baseArtifactsRegistry !== undefined) registries.push({ path: ["baseArtifactsRegistry"], r: rec(c.baseArtifactsRegistry) });
  const teams = arr(c.teamRegistries);
  if (Array.isArray(c.teamRegistries) && teams.length === 0) fail(ctx, ["teamRegistries"], teams, "must list at least one team registry");
  teams.forEach((t, i) => registries.push({ path: ["teamRegistries", i], r: rec(t) }));

  const registryNames = new Namespace("registry name", "azurerm_container_registry.registry_");
  const groups = new Namespace("resource group", "azurerm_resource_group.rg_");
  // Durable groups by lower-case name, with what lives in them (for messages).
  const durableGroups = new Map<string, string>();
  /** `owner` is what the group holds, e.g. `teamRegistries[0]`; `path` the field that names or derives it. */
  const externalGroups = new Set<string>();
  const claimGroup = (owner: Path, path: Path, name: string | undefined, durable: boolean) => {
    if (!name || !valid("resourceGroup", name)) return;
    if (externalGroups.has(name.toLowerCase())) {
      fail(ctx, path, name, "is the resource group of the existing key vault (keyVault.resourceGroup), which acr-gate does not manage; use a group of its own");
      return;
    }
    const earlier = groups.get(name);
    const holder = durableGroups.get(name.toLowerCase());
    if (!durable && holder && earlier) {
      const spelled = earlier.value === name ? "" : ` (spelled ${JSON.stringify(earlier.value)} there; Azure compares group names case-insensitively)`;
      fail(ctx, path, name, `is the resource group of ${holder}${spelled}: durable content (registries, key vault) must not share a group with an app`);
      return;
    }
    if (earlier && earlier.value === name) return; // the same group, shared on purpose
    if (groups.claim(ctx, path, name) && durable) durableGroups.set(name.toLowerCase(), fmtPath(owner));
  };

  for (const { path, r } of registries) {
    if (valid("registry", r.name)) {
      if (RESERVED_REGISTRY_NAMES.has(r.name.toLowerCase())) {
        fail(ctx, [...path, "name"], r.name, "is reserved: acr-gate stores the Docker Hub credentials as registry-dockerhub-user/-password");
      } else registryNames.claim(ctx, [...path, "name"], r.name);
    }
    claimGroup(path, r.resourceGroup === undefined ? [...path, "name"] : [...path, "resourceGroup"], derive.registryGroup(r), true);
    const seen = new Map<string, number>();
    arr(r.replicaLocations).forEach((loc, j) => {
      if (typeof loc !== "string") return;
      if (loc === location) fail(ctx, [...path, "replicaLocations", j], loc, "must differ from location (the registry's own)");
      const k = seen.get(loc);
      if (k !== undefined) fail(ctx, [...path, "replicaLocations", j], loc, `repeats replicaLocations[${k}]`);
      else seen.set(loc, j);
    });
  }

  // --- options that would have no effect, or cannot work, are refused with the reason ---
  if ((source === "dockerhub" || source === "cache") && c.publicRegistry !== undefined && c.publicRegistry !== null) {
    fail(ctx, ["publicRegistry"], c.publicRegistry, `has no effect when upstream.source is '${source}': gates pull from docker.io${source === "cache" ? " through the cache" : ""}, so the registry would cost a Premium registry for nothing; remove it`);
  }
  if (source === "cache" && rec(c.baseArtifactsRegistry).taskCredential === "identity") {
    fail(
      ctx,
      ["baseArtifactsRegistry", "taskCredential"],
      "identity",
      "cannot be 'identity' with upstream.source 'cache': AcrPull covers the whole registry, cached Docker Hub repositories included, so app tasks could build on images no gate validated; the default keyVaultToken token reads only the promoted repositories",
    );
  }
  if (source === "cache" && rec(c.upstream).dockerHubCredentials === false) {
    fail(ctx, ["upstream", "dockerHubCredentials"], false, "cannot be false with upstream.source 'cache': Docker Hub cache rules need a credential set (Azure refuses them without one)");
  }
  if (arr(rec(c.keyVault).allowedIpRanges).length > 0) {
    fail(
      ctx,
      ["keyVault", "allowedIpRanges"],
      rec(c.keyVault).allowedIpRanges,
      "cannot work: ACR task agents read secrets from addresses that are not fixed and ACR Tasks is not a Key Vault trusted service, so a vault firewall would fail every task run; leave it out (help/security.md)",
    );
  }

  const kv = rec(c.keyVault);
  if (kv.existing === true) {
    // Not ours: acr-gate must neither create nor lock it, so nothing else of ours may live there.
    const external = derive.vaultGroup(kv);
    const clash = external && groups.get(external);
    if (clash) fail(ctx, clash.path, clash.value, `is the resource group of the existing key vault (keyVault.resourceGroup), which acr-gate does not manage; use a group of its own`);
    if (external) externalGroups.add(external.toLowerCase());
  } else claimGroup(["keyVault"], kv.resourceGroup === undefined ? ["keyVault", "name"] : ["keyVault", "resourceGroup"], derive.vaultGroup(kv), true);

  // --- signing: the certificate shares the vault's namespace with its secrets ---
  const signing = rec(c.signing);
  const certName = str(signing.certificateName) ?? "acr-gate-signing";
  if (valid("keyVaultCertificate", certName) && (certName.toLowerCase() === "github-token" || certName.toLowerCase().startsWith("registry-"))) {
    // Key Vault stores a certificate's key and secret under the certificate's name.
    fail(ctx, ["signing", "certificateName"], certName, "collides with acr-gate's secret names (github-token, registry-*): Key Vault keeps a certificate's secret under its name");
  }
  if (signing.existingCertificate === true) {
    for (const k of ["subject", "validityMonths"] as const) {
      if (signing[k] !== undefined && !(k === "validityMonths" && signing[k] === 12)) fail(ctx, ["signing", k], signing[k], "has no effect with signing.existingCertificate: acr-gate creates no certificate then");
    }
  }
  if (signing.enabled === true && signing.signerContext === undefined && signing.signerImage === undefined) {
    fail(
      ctx,
      ["signing", "signerContext"],
      undefined,
      "is required when signing.enabled is true (or signing.signerImage): the gates sign with an image holding notation and its Key Vault plugin, which no registry publishes; point signerContext at a Git folder of yours holding help/signer/Dockerfile and acr-gate builds it before the first runs",
    );
  }
  if (signing.signerContext !== undefined && signing.signerImage !== undefined) {
    fail(ctx, ["signing", "signerImage"], signing.signerImage, "cannot be set with signing.signerContext, which makes acr-gate build the signer image; choose one");
  }
  if (typeof signing.signerImage === "string" && valid("imageReference", signing.signerImage)) {
    // Gates pull it with their run's access, app tasks with their base-artifacts access: both reach only base artifacts.
    const base = str(rec(c.baseArtifactsRegistry).name);
    // `<name>.azurecr.io:443/...` is the same registry.
    if (signing.enabled === true && base !== undefined && !signing.signerImage.toLowerCase().replace(/^([^/]+):443\//, "$1/").startsWith(`${base.toLowerCase()}.azurecr.io/`)) {
      fail(ctx, ["signing", "signerImage"], signing.signerImage, `must be in the base-artifacts registry (${base.toLowerCase()}.azurecr.io/...): the gates and the app tasks pull it with access to that registry only`);
    }
    const withoutHost = signing.signerImage.replace(/^[^/]*[.:][^/]*\//, "");
    if (!/:[\w][\w.-]*(@|$)|@sha256:/.test(withoutHost) || /:latest(@|$)/.test(withoutHost)) {
      fail(ctx, ["signing", "signerImage"], signing.signerImage, "must be pinned to a version tag or a digest (not latest): it holds the signing tool");
    }
  }

  // --- audit logs: a workspace of our own (a durable group), or an existing one by id ---
  const diag = rec(c.diagnostics);
  if (diag.workspaceId !== undefined) {
    for (const k of ["workspaceName", "resourceGroup"] as const) {
      if (diag[k] !== undefined) fail(ctx, ["diagnostics", k], diag[k], "has no effect with diagnostics.workspaceId: acr-gate creates no workspace then; remove one of them");
    }
  } else if (diag.enabled === true) {
    claimGroup(["diagnostics"], diag.resourceGroup === undefined ? ["diagnostics", diag.workspaceName === undefined ? "enabled" : "workspaceName"] : ["diagnostics", "resourceGroup"], derive.workspaceGroup(c), true);
  }

  // --- simulated images ---
  const pub = c.publicRegistry !== undefined && c.publicRegistry !== null ? rec(c.publicRegistry) : undefined;
  const publicTasks = new Namespace("task name in publicRegistry", "azurerm_container_registry_task.task_<registry>_");
  const built = new Set<string>();
  arr(pub?.images).forEach((img, i) => {
    const o = rec(img);
    if (valid("task", o.taskName)) publicTasks.claim(ctx, ["publicRegistry", "images", i, "taskName"], o.taskName);
    if (typeof o.image === "string") built.add(o.image);
  });

  // --- gates ---
  const gates = arr(c.gatedImages);
  if (Array.isArray(c.gatedImages) && gates.length === 0) fail(ctx, ["gatedImages"], gates, "must list at least one gated image");
  const gateTasks = new Namespace("task name in baseArtifactsRegistry", "azurerm_container_registry_task.task_<registry>_");
  const targets = new Map<string, Path>();
  const targetTags = new Map<string, { tag: string; path: Path }[]>(); // by repository
  const cacheRules = new Map<string, { targetRepo: string; path: Path }>();
  gates.forEach((g, i) => {
    const o = rec(g);
    const p: Path = ["gatedImages", i];
    const target = derive.gateTarget(o);
    if (target && valid("imageTag", target)) {
      const first = targets.get(target);
      const at: Path = o.target === undefined ? [...p, "source"] : [...p, "target"];
      const [repo, tag] = [target.slice(0, target.lastIndexOf(":")), target.slice(target.lastIndexOf(":") + 1)];
      if (first) fail(ctx, at, target, `is also the target of ${fmtPath(first)}; targets must differ`);
      else if (tag.length > 100) {
        fail(ctx, at, target, "has a tag longer than 100 characters: promotion adds '-<run id>' for the rollback tag, and tags end at 128");
      } else {
        // Each promotion also pushes <tag>-<run id>: another target in that space would be overwritten.
        const sameRepo = targetTags.get(repo) ?? [];
        const clash = sameRepo.find((t) => tag.startsWith(`${t.tag}-`) || t.tag.startsWith(`${tag}-`));
        if (clash) {
          fail(ctx, at, target, `collides with the rollback tags '${repo}:${clash.tag}-<run id>' of ${fmtPath(clash.path)} (or they with its own); choose a tag that is not the other's followed by '-'`);
        }
        sameRepo.push({ tag, path: at });
        targetTags.set(repo, sameRepo);
        targets.set(target, at);
      }
    }
    const taskName = derive.gateTaskName(o);
    const taskPath: Path = o.taskName !== undefined ? [...p, "taskName"] : o.target !== undefined ? [...p, "target"] : [...p, "source"];
    if (taskName && o.taskName === undefined && !valid("task", taskName)) {
      fail(ctx, taskPath, o.target ?? o.source, `gives the default taskName ${JSON.stringify(taskName)}, which ${checkName("task", taskName)}; set taskName`);
    } else if (taskName && valid("task", taskName)) gateTasks.claim(ctx, taskPath, taskName);

    if (rec(c.signing).enabled === true && rec(c.signing).signerContext !== undefined) {
      if (target && valid("imageTag", target) && target.startsWith(`${SIGNER_REPOSITORY}:`)) {
        fail(ctx, o.target === undefined ? [...p, "source"] : [...p, "target"], target, `is the repository of the signer image acr-gate builds (signing.signerContext); promote elsewhere`);
      }
      if (taskName === SIGNER_TASK) fail(ctx, taskPath, taskName, `is the task that builds the signer image (signing.signerContext); name the gate otherwise`);
    }
    if (source === "cache") {
      if (target && valid("imageTag", target) && (target.startsWith(`${CACHE_NAMESPACE}/`) || target.startsWith(`${CACHE_NAMESPACE}:`))) {
        fail(ctx, o.target === undefined ? [...p, "source"] : [...p, "target"], target, `is in '${CACHE_NAMESPACE}/', where the artifact cache keeps Docker Hub's repositories (a cached repository refuses pushes); promote elsewhere`);
      }
      if (valid("imageTag", o.source)) {
        const repo = o.source.slice(0, o.source.lastIndexOf(":"));
        const cached = cachedRepository(repo);
        const first = cacheRules.get(cached.ruleName);
        if (first && first.targetRepo !== cached.targetRepo) {
          fail(ctx, [...p, "source"], o.source, `gives the cache rule name ${JSON.stringify(cached.ruleName)}, as ${fmtPath(first.path)} does for another repository; import one of them under another name`);
        } else if (!first) cacheRules.set(cached.ruleName, { targetRepo: cached.targetRepo, path: [...p, "source"] });
      }
    }
    if (simulated && pub && valid("imageTag", o.source) && !built.has(o.source)) {
      fail(ctx, [...p, "source"], o.source, "must be built by one of publicRegistry.images (upstream.source is 'simulated')");
    }
    const test = rec(o.test);
    const scan = rec(o.scan);
    const testEnabled = test.enabled !== false;
    const scanEnforces = scan.enabled !== false && (scan.mode ?? "enforce") === "enforce";
    const timer = o.timer === undefined && source === "cache" ? CACHE_REFRESH_TIMER : o.timer;
    if (testEnabled && test.context === undefined) fail(ctx, [...p, "test", "context"], undefined, "is required when test.enabled is true");
    if (!testEnabled && !scanEnforces && o.allowUnvalidated !== true) {
      fail(ctx, p, o.source, "would be promoted unvalidated: enable test, or scan with mode 'enforce', or set allowUnvalidated: true");
    }
    if (!testEnabled && o.baseImageTrigger === true) {
      fail(ctx, [...p, "baseImageTrigger"], true, "cannot fire when test.enabled is false: no build step has the source as its base image, which is what ACR tracks");
    }
    if (!testEnabled && (timer === undefined || timer === null)) {
      // Without the test build no step has the source as its runtime base image, so ACR cannot track it.
      fail(ctx, [...p, "timer"], undefined, "is required when test.enabled is false: no base image trigger can see the source");
    } else if (o.baseImageTrigger === false && (timer === undefined || timer === null)) {
      fail(ctx, [...p, "timer"], undefined, "is required when baseImageTrigger is false: nothing would ever run the gate");
    }
    if (typeof scan.image === "string" && valid("imageReference", scan.image)) {
      const withoutHost = scan.image.replace(/^[^/]*[.:][^/]*\//, "");
      if (!/:[\w][\w.-]*(@|$)|@sha256:/.test(withoutHost) || /:latest(@|$)/.test(withoutHost)) {
        fail(ctx, [...p, "scan", "image"], scan.image, "must be pinned to a version tag or digest (not 'latest')");
      }
      // Also the per-architecture tags the release publishes (0.69.4-amd64, ...).
      const compromised = /(^|\/)trivy:v?(0\.69\.[456])(-[a-z0-9]+)?(@|$)/i.exec(withoutHost);
      if (compromised) {
        fail(
          ctx,
          [...p, "scan", "image"],
          scan.image,
          `is Trivy ${compromised[2]}, a malicious release (GHSA-69fq-xp46-6x23, March 2026: 0.69.4 on every registry, 0.69.5 and 0.69.6 on Docker Hub); pin a release before or after them by digest (help/security.md)`,
        );
      }
    }
  });

  // --- apps ---
  const teamNames = new Set(teams.map((t) => rec(t).name).filter((n): n is string => typeof n === "string"));
  const validTeamNames = [...teamNames].filter((n) => valid("registry", n));
  const appNames = new Namespace("app name", null, false);
  const aciNames = new Namespace("container group name", "azurerm_container_group.container_group_");
  const dnsLabels = new Namespace("DNS name label", null, false);
  const appTasks = new Map<string, Namespace>();
  // The deploy grants' addresses join the group's and the task's names (ContainerApp.grantDeploy).
  const deployGrants = new Namespace("container group and task pair", "azurerm_role_assignment.deploy_");
  arr(c.apps).forEach((a, i) => {
    const o = rec(a);
    const p: Path = ["apps", i];
    if (valid("appName", o.name)) appNames.claim(ctx, [...p, "name"], o.name);
    const registry = str(o.registry);
    // With no team registry at all, that one problem is reported above; every app naming one is its echo.
    if (registry !== undefined && teamNames.size > 0 && !teamNames.has(registry)) {
      fail(ctx, [...p, "registry"], registry, `must name one of teamRegistries (${some(validTeamNames)})`);
    }
    if (valid("imageTag", o.baseImage) && !targets.has(o.baseImage) && targets.size > 0) {
      fail(ctx, [...p, "baseImage"], o.baseImage, `must be the target of a gated image (${some([...targets.keys()])})`);
    }
    const aci = rec(o.aci);
    const fromName = (k: string): Path => (aci[k] === undefined ? [...p, "name"] : [...p, "aci", k]);
    const aciName = derive.aciName(o);
    if (aciName) {
      const problem = aci.name === undefined ? checkName("containerGroup", aciName) : undefined;
      if (problem) fail(ctx, [...p, "name"], o.name, `gives the default aci.name ${JSON.stringify(aciName)}, which ${problem}; set aci.name`);
      else if (valid("containerGroup", aciName)) aciNames.claim(ctx, fromName("name"), aciName);
    }
    claimGroup(p, aci.resourceGroup === undefined ? fromName("name") : [...p, "aci", "resourceGroup"], derive.aciGroup(o), false);
    if (aci.dnsLabel === undefined) {
      const prefix = derive.dnsLabelPrefix(o);
      const sample = `${prefix}-0a1b2c`;
      const problem = prefix ? checkName("dnsLabel", sample) : undefined;
      if (problem) fail(ctx, fromName("name"), aci.name ?? o.name, `gives a default aci.dnsLabel like ${JSON.stringify(sample)}, which ${problem}; set aci.dnsLabel`);
    } else if (valid("dnsLabel", aci.dnsLabel)) dnsLabels.claim(ctx, [...p, "aci", "dnsLabel"], aci.dnsLabel);
    const taskName = derive.appTaskName(o);
    if (taskName && o.taskName === undefined && !valid("task", taskName)) {
      fail(ctx, [...p, "name"], o.name, `gives the default taskName ${JSON.stringify(taskName)}, which ${checkName("task", taskName)}; set taskName`);
    } else if (registry && taskName && valid("task", taskName)) {
      if (aciName && valid("containerGroup", aciName)) {
        deployGrants.claim(ctx, o.taskName === undefined ? [...p, "name"] : [...p, "taskName"], `${aciName}_${registry}_${taskName}`);
      }
      let ns = appTasks.get(registry);
      if (!ns) appTasks.set(registry, (ns = new Namespace(`task name in team registry ${registry}`, "azurerm_container_registry_task.task_<registry>_")));
      ns.claim(ctx, o.taskName === undefined ? [...p, "name"] : [...p, "taskName"], taskName);
    }
  });

  // --- the split layout: a stack per team, each with its own state ---
  if (c.layout === "split") {
    if (btype === "partial") {
      fail(ctx, ["layout"], "split", "needs backend.type 'local' or 'azurerm': team stacks read the platform stack's outputs from its state, whose settings a partial backend leaves to terraform init");
    }
    const stackName = str(c.stackName) ?? "acr-gate";
    teams.forEach((t, i) => {
      const name = rec(t).name;
      if (!valid("registry", name)) return;
      const teamStack = `${stackName}-${name}`;
      const problem = checkName("stackName", teamStack);
      if (problem) fail(ctx, ["teamRegistries", i, "name"], name, `gives the team stack name ${JSON.stringify(teamStack)}, which ${problem}; shorten stackName or the registry name`);
    });
    // Each stack creates (and locks) the groups of what it owns: a group of two stacks would be
    // created twice, the second apply failing on "already exists". Owners: the platform (public and
    // base-artifacts registries, the vault, the audit workspace) and each team (its registry, its
    // apps' container groups).
    const owners = new Map<string, { owner: string; path: Path }>();
    const own = (owner: string, path: Path, name: string | undefined) => {
      if (!name || !valid("resourceGroup", name)) return;
      const first = owners.get(name.toLowerCase());
      if (!first) owners.set(name.toLowerCase(), { owner, path });
      else if (first.owner !== owner) {
        fail(ctx, path, name, `is also the resource group of ${fmtPath(first.path)} (${first.owner}): with layout 'split' each stack creates and locks its own groups, so the ${owner} and the ${first.owner} cannot share one`);
      }
    };
    const at = (path: Path, r: Record<string, unknown>, nameKey: string): Path => (r.resourceGroup !== undefined ? [...path, "resourceGroup"] : [...path, nameKey]);
    if (c.publicRegistry) own("platform stack", at(["publicRegistry"], rec(c.publicRegistry), "name"), derive.registryGroup(rec(c.publicRegistry)));
    own("platform stack", at(["baseArtifactsRegistry"], rec(c.baseArtifactsRegistry), "name"), derive.registryGroup(rec(c.baseArtifactsRegistry)));
    if (rec(c.keyVault).existing !== true) own("platform stack", at(["keyVault"], rec(c.keyVault), "name"), derive.vaultGroup(rec(c.keyVault)));
    const d = rec(c.diagnostics);
    if (d.enabled === true && d.workspaceId === undefined) own("platform stack", at(["diagnostics"], d, "enabled"), derive.workspaceGroup(c));
    teams.forEach((t, i) => own(`stack of team ${str(rec(t).name) ?? i}`, at(["teamRegistries", i], rec(t), "name"), derive.registryGroup(rec(t))));
    arr(c.apps).forEach((a, i) => {
      const o = rec(a);
      const team = str(o.registry);
      if (!team) return;
      own(`stack of team ${team}`, o.aci !== undefined && rec(o.aci).resourceGroup !== undefined ? ["apps", i, "aci", "resourceGroup"] : ["apps", i, "name"], derive.aciGroup(o));
    });
  }

  // --- the state storage account's group is not ours: Terraform would create (and could delete) it ---
  const stateGroup = str(backend.resourceGroupName);
  if (btype === "azurerm" && stateGroup && groups.get(stateGroup)) {
    fail(ctx, ["backend", "resourceGroupName"], stateGroup, `is a resource group this config creates (${fmtPath(groups.get(stateGroup)!.path)}); keep Terraform state in a group of its own that acr-gate does not manage`);
  }
}

/**
 * Token names derive from registry names (`registry-<name>-user`) and are capped at 49 characters:
 * checked where the message can point at the registry name that causes it. Mirrors
 * plannedPullTokens (lib/config.ts), on the unresolved file.
 */
function tokenNameRule(c: Record<string, unknown>, ctx: Ctx): void {
  const needsToken = (r: Record<string, unknown>) => (r.taskCredential ?? "keyVaultToken") === "keyVaultToken";
  const apps = arr(c.apps).map(rec);
  const withToken: { path: Path; r: Record<string, unknown> }[] = [];
  const pub = rec(c.publicRegistry);
  if ((rec(c.upstream).source ?? "simulated") === "simulated" && needsToken(pub)) withToken.push({ path: ["publicRegistry"], r: pub });
  const base = rec(c.baseArtifactsRegistry);
  if (needsToken(base) && apps.length > 0) withToken.push({ path: ["baseArtifactsRegistry"], r: base });
  const tokenTeams = new Set(apps.filter((a) => (rec(a.aci).pullWith ?? "token") === "token").map((a) => a.registry));
  arr(c.teamRegistries).forEach((t, i) => {
    if (tokenTeams.has(rec(t).name)) withToken.push({ path: ["teamRegistries", i], r: rec(t) });
  });
  for (const { path, r } of withToken) {
    if (!valid("registry", r.name)) continue;
    const token = `registry-${r.name}-user`;
    const problem = checkName("token", token);
    if (problem) fail(ctx, [...path, "name"], r.name, `is too long for its pull token: ${JSON.stringify(token)} ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The resolved config: every default filled in, nothing optional left to guess.

export interface ImageRef {
  readonly repository: string;
  readonly tag: string;
}

function image(ref: string): ImageRef {
  const i = ref.lastIndexOf(":");
  return { repository: ref.slice(0, i), tag: ref.slice(i + 1) };
}

function resolve(f: ConfigFile) {
  const registry = (r: z.output<typeof registrySchema> | z.output<typeof teamRegistrySchema>) => ({
    name: r.name,
    resourceGroup: derive.registryGroup(r)!,
    zoneRedundancy: r.zoneRedundancy,
    dedicatedDataEndpoints: r.dedicatedDataEndpoints,
    replicaLocations: r.replicaLocations,
    untaggedRetentionDays: r.untaggedRetentionDays,
    /** Team registries have none (nothing pulls from them with a task credential). */
    taskCredential: r.taskCredential ?? ("keyVaultToken" as const),
  });
  // An environment's name is part of its state's by default, so two environments never share one.
  const stateName = f.environment ? `${f.stackName}-${f.environment}` : f.stackName;
  const backend =
    f.backend.type === "local"
      ? // Beside cdktf.out: the path climbs from cdktf.out/stacks/<stack>/, where Terraform runs.
        { type: "local" as const, path: f.backend.path ?? `../../../${stateName}.tfstate` }
      : f.backend.type === "azurerm"
        ? {
            type: "azurerm" as const,
            resourceGroupName: f.backend.resourceGroupName!,
            storageAccountName: f.backend.storageAccountName!,
            containerName: f.backend.containerName ?? "tfstate",
            key: f.backend.key ?? `${stateName}.tfstate`,
            useAzureadAuth: f.backend.useAzureadAuth ?? true,
          }
        : { type: "partial" as const, useAzureadAuth: f.backend.useAzureadAuth ?? true };
  return {
    stackName: f.stackName,
    layout: f.layout,
    environment: f.environment ?? null,
    location: f.location,
    azurermVersion: f.azurermVersion,
    tags: f.tags as Readonly<Record<string, string>>,
    protection: f.protection,
    backend,
    upstream: { source: f.upstream.source, dockerHubCredentials: derive.dockerHubCredentials(f) },
    publicRegistry: f.publicRegistry
      ? {
          ...registry(f.publicRegistry),
          images: f.publicRegistry.images.map((s) => ({
            taskName: s.taskName,
            image: image(s.image),
            repository: s.repository,
            taskFile: s.taskFile,
          })),
        }
      : null,
    baseArtifactsRegistry: registry(f.baseArtifactsRegistry),
    teamRegistries: f.teamRegistries.map(registry),
    keyVault: { ...f.keyVault, resourceGroup: derive.vaultGroup(f.keyVault)! },
    tokenPasswordExpiryDays: f.tokenPasswordExpiryDays,
    /** null: one token per registry; a number: two alternating tokens, the active one this % 2. */
    tokenRotation: f.tokenRotation ?? null,
    gatedImages: f.gatedImages.map((g) => ({
      source: image(g.source),
      target: image(derive.gateTarget(g)!),
      taskName: derive.gateTaskName(g)!,
      test: { enabled: g.test.enabled, context: g.test.context ?? "", dockerfile: g.test.dockerfile, timeoutSeconds: g.test.timeoutSeconds },
      scan: g.scan,
      // Through a cache, the gate's own runs are what refresh the cached tag: a daily one by default.
      timer: g.timer === undefined && f.upstream.source === "cache" ? CACHE_REFRESH_TIMER : (g.timer ?? null),
      baseImageTrigger: g.baseImageTrigger ?? g.test.enabled,
      allowUnvalidated: g.allowUnvalidated,
    })),
    apps: f.apps.map((a) => ({
      name: a.name,
      taskName: derive.appTaskName(a)!,
      registry: a.registry,
      repository: a.repository,
      baseImage: image(a.baseImage),
      aci: {
        name: derive.aciName(a)!,
        resourceGroup: derive.aciGroup(a)!,
        /** null: `<aci.name>-<6 hex of the resource group id>`, computed by Terraform (ContainerApp). */
        dnsLabel: a.aci.dnsLabel ?? null,
        cpu: a.aci.cpu,
        memoryGb: a.aci.memoryGb,
        port: a.aci.port,
        initialImage: a.aci.initialImage,
        pullWith: a.aci.pullWith,
      },
    })),
    firstRun: f.firstRun,
    deployers: f.deployers.map((d) => ({ name: d.name, objectId: d.objectId.toLowerCase(), renamedFrom: d.renamedFrom ?? null })),
    diagnostics: {
      enabled: f.diagnostics.enabled,
      /** null: acr-gate creates the workspace below. */
      workspaceId: f.diagnostics.workspaceId ?? null,
      workspaceName: derive.workspaceName(f)!,
      resourceGroup: derive.workspaceGroup(f)!,
      retentionDays: f.diagnostics.retentionDays,
      dailyQuotaGb: f.diagnostics.dailyQuotaGb === 0 ? null : f.diagnostics.dailyQuotaGb,
    },
    signing: {
      enabled: f.signing.enabled,
      certificateName: f.signing.certificateName,
      existingCertificate: f.signing.existingCertificate,
      subject: derive.signingSubject(f)!,
      validityMonths: f.signing.validityMonths,
      signerImage: derive.signerImage(f)!,
      /** null: the signer image is the user's (signerImage). */
      signerContext: f.signing.signerContext ?? null,
    },
  };
}

/** The whole config: the file's schema, its cross-field rules, then the resolved config. */
export const configSchema = configFileSchema.superRefine(crossFieldRules, { when: () => true }).transform(resolve);

export type AcrGateConfig = z.output<typeof configSchema>;
export type RegistryConfig = AcrGateConfig["baseArtifactsRegistry"];
export type PublicRegistryConfig = NonNullable<AcrGateConfig["publicRegistry"]>;
export type SimulatedImageConfig = PublicRegistryConfig["images"][number];
export type GatedImageConfig = AcrGateConfig["gatedImages"][number];
export type AppConfig = AcrGateConfig["apps"][number];
export type BackendConfig = AcrGateConfig["backend"];
export type ScanMode = GatedImageConfig["scan"]["mode"];
export type Severity = GatedImageConfig["scan"]["failOn"];
export type TaskCredentialMode = RegistryConfig["taskCredential"];
export type AciPullMode = AppConfig["aci"]["pullWith"];
export type UpstreamSource = AcrGateConfig["upstream"]["source"];
