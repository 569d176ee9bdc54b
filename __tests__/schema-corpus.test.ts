/**
 * The JSON Schema says what the CLI says. acr-gate.schema.json (what an editor checks as you type)
 * and `acr-gate --check` (parseConfig) judge the same corpus of configs: each a one-change variant
 * of the walkthrough's default config. Wherever they disagree the test fails, except for the rules
 * listed in CROSS_FIELD by name: rules that relate two places of the file (or two entries of a
 * list), which a JSON Schema of one field cannot state, and that acr-gate alone checks.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import Ajv2020 from "ajv/dist/2020";
import { SCHEMA_FILE } from "../app/config-json-schema";
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";

const repo = path.resolve(__dirname, "..");
const schema = JSON.parse(fs.readFileSync(path.join(repo, SCHEMA_FILE), "utf8"));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

type Config = Record<string, any>;
const base = (): Config => YAML.parse(DEFAULT_CONFIG_YAML);
const PIN = "@sha256:" + "a".repeat(64);

/** The cross-field rules: what the schema cannot say, by the name the corpus uses. */
const CROSS_FIELD: Readonly<Record<string, string>> = {
  "app in an unknown team": "apps[].registry must name a team registry of the same file",
  "app on an ungated base image": "apps[].baseImage must be the target of a gated image of the same file",
  "two registries with one name": "registry names are unique across publicRegistry, baseArtifactsRegistry and teamRegistries",
  "two apps with one name": "app names are unique across apps",
  "publicRegistry missing in simulated mode": "publicRegistry is required only when upstream.source is simulated",
  "a gated image nothing builds (simulated)": "in simulated mode each gated source must be built by a publicRegistry image",
  "signing on without a signer": "signing.signerContext or signerImage is required only when signing.enabled",
  "a signer image outside base artifacts": "signing.signerImage must be on baseArtifactsRegistry.name's login server",
  "a timer-less gate without a test": "gatedImages[].timer is required when its test is disabled",
  "an app group shared with a registry": "an app's resource group must not be a durable group of another section",
  "deployers with one object id": "deployers[] object ids are unique across the list",
  "a cron range that runs backwards": "a cron range a-b needs a <= b: a comparison of two numbers, which a pattern cannot make",
  "an app name with a dot": "an app's default task and group names derive from its name (the derived name breaks the task-name rule)",
  "a registry name of 40 characters": "a registry's pull token is named registry-<name>-user, which must fit in 50 characters when a token is planned",
  "two tags equal but for case": "tag names are compared case-insensitively across the mapping",
  "two deployers with one name": "deployer names are unique across the list",
  "an existing certificate with a subject": "signing.subject has no effect with signing.existingCertificate",
  "a signer context beside a signer image": "signing.signerContext and signerImage exclude each other",
  "a workspace id beside a workspace name": "diagnostics.workspaceId and workspaceName exclude each other",
  "a lock lifted on a group the config does not have": "protection.liftLocks must name durable groups of the same file",
  "a gate with neither test nor enforcing scan": "a gate needs a test, an enforcing scan or allowUnvalidated: three fields together",
  "an azurerm backend without its resource group": "backend keys depend on backend.type",
  "a tag value of 129 emoji (258 UTF-16 units)": "acr-gate counts lengths in UTF-16 units, as Azure does; JSON Schema counts characters",
  "an Azure registry through the cache": "gatedImages[].via 'cache' depends on its upstream (help/artifact-cache.md's table)",
  "a login no gate uses": "upstream.credentials must name a host some gatedImages[].upstream names",
  "two upstreams in one target repository": "a target repository holds one upstream repository's images: two entries of the list compared",
};

const variants: [string, (c: Config) => void, "accept" | "refuse"][] = [
  // What the issue found: the schema refused these, which the CLI accepts.
  ["tags left empty (null)", (c) => (c.tags = null), "accept"],
  ["apps left empty (null)", (c) => (c.apps = null), "accept"],
  ["tokenRotation left empty (null)", (c) => (c.tokenRotation = null), "accept"],
  ["environment left empty (null)", (c) => (c.environment = null), "accept"],
  // Cron fields.
  ["a timer every day at 04:00", (c) => (c.gatedImages[0].timer = "0 4 * * *"), "accept"],
  ["a timer every 15 minutes on weekdays", (c) => (c.gatedImages[0].timer = "*/15 * * * 1-5"), "accept"],
  ["a timer with a list and a stepped range", (c) => (c.gatedImages[0].timer = "0,30 8-18/2 1,15 1-12 0-6"), "accept"],
  ["a timer at minute 61", (c) => (c.gatedImages[0].timer = "61 4 * * *"), "refuse"],
  ["a timer at hour 24", (c) => (c.gatedImages[0].timer = "0 24 * * *"), "refuse"],
  ["a timer on day 0 of the month", (c) => (c.gatedImages[0].timer = "0 0 0 * *"), "refuse"],
  ["a timer in month 13", (c) => (c.gatedImages[0].timer = "0 0 * 13 *"), "refuse"],
  ["a timer on day 7 of the week", (c) => (c.gatedImages[0].timer = "0 0 * * 7"), "refuse"],
  ["a timer with four fields", (c) => (c.gatedImages[0].timer = "0 0 * *"), "refuse"],
  ["a timer with a step of 0", (c) => (c.gatedImages[0].timer = "*/0 * * * *"), "refuse"],
  ["a timer with a named day", (c) => (c.gatedImages[0].timer = "0 0 * * MON"), "refuse"],
  ["a cron range that runs backwards", (c) => (c.gatedImages[0].timer = "0 18-8 * * *"), "refuse"],
  // The scanner.
  ["a scanner pinned by tag and digest", (c) => (c.gatedImages[0].scan.image = `ghcr.io/aquasecurity/trivy:0.58.1${PIN}`), "accept"],
  ["a scanner at latest", (c) => (c.gatedImages[0].scan.image = "aquasec/trivy:latest"), "refuse"],
  ["a scanner at latest with a digest", (c) => (c.gatedImages[0].scan.image = `aquasec/trivy:latest${PIN}`), "refuse"],
  ["a scanner without a tag", (c) => (c.gatedImages[0].scan.image = "aquasec/trivy"), "refuse"],
  ["a compromised Trivy (0.69.4)", (c) => (c.gatedImages[0].scan.image = `ghcr.io/aquasecurity/trivy:0.69.4${PIN}`), "refuse"],
  ["a compromised Trivy on Docker Hub (0.69.6-amd64)", (c) => (c.gatedImages[0].scan.image = `aquasec/trivy:0.69.6-amd64${PIN}`), "refuse"],
  ["Trivy 0.69.5 from ghcr (refused on every registry, to be safe)", (c) => (c.gatedImages[0].scan.image = `ghcr.io/aquasecurity/trivy:0.69.5${PIN}`), "refuse"],
  ["Trivy 0.69.3, before the compromise", (c) => (c.gatedImages[0].scan.image = `ghcr.io/aquasecurity/trivy:0.69.3${PIN}`), "accept"],
  // Image names.
  ["a source that names Docker Hub", (c) => (c.gatedImages[0].source = "docker.io/library/node:15-alpine"), "refuse"],
  ["a source on another registry host", (c) => (c.gatedImages[0].source = "ghcr.io/x/node:15-alpine"), "refuse"],
  ["a source with an upper-case repository", (c) => (c.gatedImages[0].source = "Node:15-alpine"), "refuse"],
  ["a source without a tag", (c) => (c.gatedImages[0].source = "node"), "refuse"],
  ["a base image with a digest", (c) => (c.apps[0].baseImage = `node${PIN}`), "refuse"],
  // Text anywhere.
  ["a tag value with a line break", (c) => (c.tags = { owner: "a\nb" }), "refuse"],
  ["a tag value with a tab", (c) => (c.tags = { owner: "a\tb" }), "refuse"],
  ["a tag value with a bidi override", (c) => (c.tags = { owner: "a\u202eb" }), "refuse"],
  ["a tag value with a Terraform expression", (c) => (c.tags = { owner: "${var.x}" }), "refuse"],
  ["a tag value with a Go template", (c) => (c.tags = { owner: "{{.Run.ID}}" }), "refuse"],
  ["a tag value of 256 characters", (c) => (c.tags = { owner: "x".repeat(256) }), "accept"],
  ["a tag value of 257 characters", (c) => (c.tags = { owner: "x".repeat(257) }), "refuse"],
  // Tags.
  ["49 tags", (c) => (c.tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]))), "accept"],
  ["50 tags (acr-gate adds managed-by: 51)", (c) => (c.tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]))), "refuse"],
  ["a tag named managed-by (acr-gate's own)", (c) => (c.tags = { "managed-by": "me" }), "refuse"],
  ["a tag name Azure reserves (azure...)", (c) => (c.tags = { "Azure-team": "x" }), "refuse"],
  ["a tag name Azure reserves (windows...)", (c) => (c.tags = { windowsOwner: "x" }), "refuse"],
  ["a tag name with a slash", (c) => (c.tags = { "team/owner": "x" }), "refuse"],
  ["a tag name with a trailing space", (c) => (c.tags = { "owner ": "x" }), "refuse"],
  ["an ordinary tag", (c) => (c.tags = { "cost-center": "1234" }), "accept"],
  // Names.
  ["a registry name with a hyphen", (c) => (c.teamRegistries[0].name = "my-registry"), "refuse"],
  ["a vault name with a double hyphen", (c) => (c.keyVault.name = "acr--task-creds"), "refuse"],
  ["a vault name of 25 characters", (c) => (c.keyVault.name = "a".repeat(25)), "refuse"],
  ["a task name of 51 characters", (c) => (c.gatedImages[0].taskName = "a".repeat(51)), "refuse"],
  ["a Git context with a user name", (c) => (c.apps[0].repository = "https://me@github.com/x/y.git"), "refuse"],
  ["a Git context on another host", (c) => (c.apps[0].repository = "https://gitlab.com/x/y.git#main"), "refuse"],
  ["a Git context with a '..' folder", (c) => (c.gatedImages[0].test.context = "https://github.com/x/y.git#main:a/../b"), "refuse"],
  ["a Git context with a folder", (c) => (c.gatedImages[0].test.context = "https://github.com/x/y.git#main:test/node"), "accept"],
  ["a Dockerfile path with '..'", (c) => (c.gatedImages[0].test.dockerfile = "../Dockerfile"), "refuse"],
  ["a Dockerfile path starting with '-'", (c) => (c.gatedImages[0].test.dockerfile = "-f"), "refuse"],
  ["a location that is not a region", (c) => (c.location = "eastus3"), "refuse"],
  ["a misspelled key", (c) => (c.keyVault.nmae = "x"), "refuse"],
  // Numbers.
  ["a port of 0", (c) => (c.apps[0].aci.port = 0), "refuse"],
  ["a port of 65535", (c) => (c.apps[0].aci.port = 65535), "accept"],
  ["half a CPU", (c) => (c.apps[0].aci.cpu = 0.5), "accept"],
  ["a retention of 0 days", (c) => (c.teamRegistries[0].untaggedRetentionDays = 0), "refuse"],
  ["a retention of 1.5 days", (c) => (c.teamRegistries[0].untaggedRetentionDays = 1.5), "refuse"],
  ["an expiry written as text", (c) => (c.tokenPasswordExpiryDays = "1y"), "refuse"],
  // Lists.
  ["no team registry", (c) => (c.teamRegistries = []), "refuse"],
  ["no gated image", (c) => (c.gatedImages = []), "refuse"],
  // Found by a review with variants of its own: the schema refused these, which the CLI accepts.
  ["a timer step with a leading zero", (c) => (c.gatedImages[0].timer = "*/05 * * * *"), "accept"],
  ["an hour step with a leading zero", (c) => (c.gatedImages[0].timer = "0 */02 * * *"), "accept"],
  ["a Git folder named '..git'", (c) => (c.gatedImages[0].test.context = "https://github.com/x/y.git#main:..git"), "accept"],
  // ... and the CLI accepted these silently: now both refuse.
  ["a tag without a value (null)", (c) => (c.tags = { owner: null }), "refuse"],
  ["a misspelled key left empty (null)", (c) => (c.keyVault.nmae = null), "refuse"],
  ["a repository named '..'", (c) => (c.apps[0].repository = "https://github.com/x/..git"), "refuse"],
  // ... and the schema accepted these, which the CLI refuses.
  ["an unpinned signer image, signing off", (c) => (c.signing = { signerImage: "contosobaseartifacts.azurecr.io/tools/notation:latest" }), "refuse"],
  ["a signer image without a tag", (c) => (c.signing = { signerImage: "contosobaseartifacts.azurecr.io/tools/notation" }), "refuse"],
  ["a signer image on base artifacts' :443", (c) => (c.signing = { enabled: true, subject: "CN=x,O=o,ST=s,C=US", signerImage: `contosobaseartifacts.azurecr.io:443/tools/n${PIN}` }), "accept"],
  ["a registry named dockerhub", (c) => (c.teamRegistries[0].name = "DockerHub"), "refuse"],
  ["a certificate named github-token", (c) => (c.signing = { certificateName: "github-token" }), "refuse"],
  ["a certificate named Registry-x", (c) => (c.signing = { certificateName: "Registry-x" }), "refuse"],
  ["a vault firewall range", (c) => (c.keyVault.allowedIpRanges = ["203.0.113.0/24"]), "refuse"],
  ["a replica location twice", (c) => (c.teamRegistries[0].replicaLocations = ["westus", "westus"]), "refuse"],
  ["a gate target with a 101-character tag", (c) => (c.gatedImages[0].target = `node:${"a".repeat(101)}`), "refuse"],
  ["a cdktf token marker in a tag", (c) => (c.tags = { owner: "#{TfToken[TOKEN.1]}" }), "refuse"],
  ["a tag named __proto__", (c) => (c.tags = JSON.parse('{"__proto__": "x"}')), "refuse"],
  ["a gate without a test context (the test is on by default)", (c) => (c.gatedImages[0].test = {}), "refuse"],
  ["a gate without any test section", (c) => delete c.gatedImages[0].test, "refuse"],
  ["a gate with its test off and an enforcing scan", (c) => ((c.gatedImages[0].test = { enabled: false }), (c.gatedImages[0].scan = { mode: "enforce" }), (c.gatedImages[0].timer = "0 3 * * *")), "accept"],
  // Upstreams (help/artifact-cache.md): the host is one field's grammar, the schema states it.
  ["a second gate from MCR", (c) => c.gatedImages.push({ source: "dotnet/runtime:8.0", upstream: "mcr.microsoft.com", test: { enabled: false } }), "accept"],
  ["a gate from Google Artifact Registry, pulled by the gate", (c) => c.gatedImages.push({ source: "p/r/i:1", upstream: "europe-west1-docker.pkg.dev", via: "direct", test: { enabled: false } }), "accept"],
  ["an Azure registry of 50 characters as an upstream (61 in all)", (c) => c.gatedImages.push({ source: "a/b:1", upstream: `${"u".repeat(50)}.azurecr.io`, test: { enabled: false }, timer: "0 3 * * *" }), "accept"],
  ["an Artifact Registry host of 51 characters (its credential set's name holds 50)", (c) => c.gatedImages.push({ source: "a/b:1", upstream: `${"u".repeat(36)}-docker.pkg.dev`, test: { enabled: false } }), "refuse"],
  ["an upstream host with a port", (c) => (c.gatedImages[0].upstream = "ghcr.io:5000"), "refuse"],
  ["an upstream host that only ends like a known one", (c) => (c.gatedImages[0].upstream = "evil-ghcr.io"), "refuse"],
  ["an upstream in upper case", (c) => (c.gatedImages[0].upstream = "MCR.MICROSOFT.COM"), "refuse"],
  ["a via of 'proxy'", (c) => (c.gatedImages[0].via = "proxy"), "refuse"],
  ["a login for a host outside the list", (c) => (c.upstream = { credentials: ["registry.example.com"] }), "refuse"],
  ["an Azure registry through the cache", (c) => c.gatedImages.push({ source: "a/b:1", upstream: "fabrikamupstream.azurecr.io", via: "cache", test: { enabled: false } }), "refuse"],
  ["a login no gate uses", (c) => (c.upstream = { credentials: ["quay.io"] }), "refuse"],
  ["two upstreams in one target repository", (c) => c.gatedImages.push({ source: "node:20-alpine", upstream: "mcr.microsoft.com", test: { enabled: false } }), "refuse"],
  // Cross-field (CROSS_FIELD).
  ["an app name with a dot", (c) => (c.apps[0].name = "my.app"), "refuse"],
  ["a registry name of 40 characters", (c) => ((c.teamRegistries[0].name = "c".repeat(40)), (c.apps[0].registry = "c".repeat(40))), "refuse"],
  ["two tags equal but for case", (c) => (c.tags = { Owner: "a", owner: "b" }), "refuse"],
  ["two deployers with one name", (c) => (c.deployers = [{ name: "alice", objectId: "00000000-0000-0000-0000-000000000001" }, { name: "alice", objectId: "00000000-0000-0000-0000-000000000002" }]), "refuse"],
  ["an existing certificate with a subject", (c) => (c.signing = { existingCertificate: true, subject: "CN=x,O=o,ST=s,C=US" }), "refuse"],
  ["a signer context beside a signer image", (c) => (c.signing = { signerContext: "https://github.com/x/s.git#main:help/signer", signerImage: "contosobaseartifacts.azurecr.io/t/n:1" }), "refuse"],
  ["a workspace id beside a workspace name", (c) => (c.diagnostics = { enabled: true, workspaceName: "wsname", workspaceId: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws01" }), "refuse"],
  ["a lock lifted on a group the config does not have", (c) => (c.protection = { liftLocks: ["nosuch-rg"] }), "refuse"],
  ["a gate with neither test nor enforcing scan", (c) => ((c.gatedImages[0].test = { enabled: false }), (c.gatedImages[0].timer = "0 3 * * *")), "refuse"],
  ["an azurerm backend without its resource group", (c) => (c.backend = { type: "azurerm", storageAccountName: "tfstate", containerName: "tfstate" }), "refuse"],
  ["a tag value of 129 emoji (258 UTF-16 units)", (c) => (c.tags = { owner: "\u{1F600}".repeat(129) }), "refuse"],
  ["app in an unknown team", (c) => (c.apps[0].registry = "fabrikam"), "refuse"],
  ["app on an ungated base image", (c) => (c.apps[0].baseImage = "python:3.12-slim"), "refuse"],
  ["two registries with one name", (c) => (c.teamRegistries[0].name = "publicregistry"), "refuse"],
  ["two apps with one name", (c) => c.apps.push({ ...c.apps[0], aci: { name: "other-aci" } }), "refuse"],
  ["publicRegistry missing in simulated mode", (c) => delete c.publicRegistry, "refuse"],
  ["a gated image nothing builds (simulated)", (c) => c.gatedImages.push({ source: "python:3.12-slim", scan: { mode: "enforce" }, test: { enabled: false }, timer: "0 3 * * *" }), "refuse"],
  ["signing on without a signer", (c) => (c.signing = { enabled: true }), "refuse"],
  ["a signer image outside base artifacts", (c) => (c.signing = { enabled: true, signerImage: "other.azurecr.io/tools/n:1" }), "refuse"],
  ["a timer-less gate without a test", (c) => (c.gatedImages[0].test = { enabled: false }), "refuse"],
  ["an app group shared with a registry", (c) => (c.apps[0].aci.resourceGroup = "contoso-rg"), "refuse"],
  [
    "deployers with one object id",
    (c) => (c.deployers = [{ name: "alice", objectId: "00000000-0000-0000-0000-000000000001" }, { name: "bob", objectId: "00000000-0000-0000-0000-000000000001" }]),
    "refuse",
  ],
];

function cliAccepts(c: Config): { ok: boolean; why: string } {
  try {
    parseConfig(JSON.stringify(c));
    return { ok: true, why: "" };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, why: e.message.split("\n").slice(1).join(" ") };
  }
}

describe("acr-gate.schema.json and the CLI judge the same configs alike", () => {
  test("the base config is accepted by both", () => {
    expect(cliAccepts(base()).ok).toBe(true);
    expect(validate(base())).toBe(true);
  });

  test.each(variants)("%s", (name, mutate, expected) => {
    const c = base();
    mutate(c);
    const cli = cliAccepts(c);
    // The corpus says what the CLI does: a variant that is not what its name says is a broken corpus.
    expect(cli.ok ? "accept" : `refuse (${cli.why})`).toMatch(expected === "accept" ? /^accept$/ : /^refuse/);
    const editor = validate(c) ? "accept" : "refuse";
    if (CROSS_FIELD[name] !== undefined) {
      // The schema cannot see these: it accepts, and the CLI is the one that refuses.
      expect(editor).toBe("accept");
      return;
    }
    expect(`${name}: the schema would ${editor}`).toBe(`${name}: the schema would ${expected}`);
  });

  test("every cross-field exception is in the corpus, refused by the CLI", () => {
    const names = new Set(variants.map(([n]) => n));
    for (const n of Object.keys(CROSS_FIELD)) expect(names.has(n)).toBe(true);
  });
});

test("the schema names itself and says how to hook it to an editor", () => {
  expect(schema.$id).toBe("urn:acr-gate:config-schema:1");
  expect(schema.title).toBe("acr-gate configuration");
  expect(schema.description).toContain("# yaml-language-server: $schema=<path to>/acr-gate.schema.json");
});
