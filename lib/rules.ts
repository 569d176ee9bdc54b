/**
 * The naming and value rules Azure, ACR Tasks and Terraform apply to what acr-gate creates, in one
 * place.
 *
 * The azurerm provider checks several of these only partly (no length check on task names, no
 * start/end/`--` rule on Key Vault names, almost nothing on container group names), so a bad name
 * would only fail in the middle of `terraform apply`. Other rules keep config text data where it
 * lands: grammars strict enough that a value cannot become an extra `docker build` argument, an
 * extra shell word or another step of a task. The config schema and construct props both call
 * {@link checkName}; nothing else duplicates a rule.
 */

import { Token } from "cdktf";
import { AZURE_LOCATIONS, SOVEREIGN_LOCATIONS } from "./azure-regions";
import { UPSTREAM_HOST_PATTERN, UPSTREAM_HOSTS_TEXT } from "./upstream-hosts";

const PUBLIC_LOCATIONS = new Set(AZURE_LOCATIONS);
const SOVEREIGN = new Set(SOVEREIGN_LOCATIONS);

export interface NameRule {
  /** What the rule is about, as it appears in messages. */
  readonly what: string;
  readonly pattern: RegExp;
  /** The rule in words, quoted in error messages. */
  readonly description: string;
  /** Extra checks a single regex cannot express clearly; returns why the value fails. */
  readonly extra?: (value: string) => string | undefined;
  /**
   * What the JSON Schema (acr-gate.schema.json) says of `extra`, where a JSON Schema can: the
   * value must match every one of `patterns`, none of `notPatterns`, and be at most `maxLength`
   * long. `pattern` replaces the rule's own pattern there (a stricter one, for editors only).
   * __tests__/schema-corpus.test.ts holds the schema and the CLI to the same verdicts.
   */
  readonly schema?: { readonly pattern?: string; readonly patterns?: readonly string[]; readonly notPatterns?: readonly string[]; readonly maxLength?: number };
}

/** `(?:^|/)..(?:/|$)`-style segments, for the JSON Schema of path-like rules. */
const DOT_SEGMENT = "(?:^|/)\\.\\.?(?:/|$)";
/** A case-insensitive prefix as a pattern (JSON Schema patterns have no flags); non-letters stand for themselves. */
export const anyCase = (word: string) =>
  `^${[...word].map((ch) => (/[a-z]/i.test(ch) ? `[${ch.toUpperCase()}${ch.toLowerCase()}]` : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}`;
/** One cron field of [min, max] as a pattern: `*`, `*\/n`, or a list of `a`, `a-b`, `a-b/n`, `a/n` (ranges' order aside). */
function cronFieldPattern(value: string, maxStep: string): string {
  const step = `(?:/0?(?:${maxStep}))`;
  const item = `(?:${value})(?:-(?:${value}))?${step}?`;
  return `(?:\\*${step}?|${item}(?:,${item})*)`;
}
const CRON_SCHEMA = [
  cronFieldPattern("[0-5]?[0-9]", "[1-9]|[1-5][0-9]"),
  cronFieldPattern("[01]?[0-9]|2[0-3]", "[1-9]|1[0-9]|2[0-3]"),
  cronFieldPattern("0?[1-9]|[12][0-9]|3[01]", "[1-9]|[12][0-9]|3[01]"),
  cronFieldPattern("0?[1-9]|1[0-2]", "[1-9]|1[0-2]"),
  cronFieldPattern("0?[0-6]", "[1-6]"),
].join(" ");

// OCI distribution spec path component; a repository is one or more joined by '/'.
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPOSITORY = `${COMPONENT}(?:/${COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "sha256:[0-9a-f]{64}";
// A registry host: DNS labels with at least one dot (or localhost), optional port.
const HOST = "(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63})(?::[0-9]{1,5})?";
const SAFE_PATH = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

function portProblem(value: string): string | undefined {
  const m = /^https:\/\/[^/]*:(\d+)\//.exec(value) ?? /^[^/]*:(\d+)\//.exec(value);
  if (m && (Number(m[1]) < 1 || Number(m[1]) > 65535)) return `port ${m[1]} is out of range`;
  return undefined;
}

function dotSegment(value: string): string | undefined {
  return value.split(/[/:#]/).some((s) => s === "." || s === "..") ? "has a '.' or '..' segment" : undefined;
}

/** One cron field: `*`, `*\/n`, or a list of `a`, `a-b`, `a-b/n`, `a/n`, within [min, max]. */
function cronFieldProblem(field: string, name: string, min: number, max: number): string | undefined {
  if (/^\*(?:\/\d{1,2})?$/.test(field)) {
    const step = field.split("/")[1];
    return step !== undefined && (Number(step) < 1 || Number(step) > max) ? `${name} step ${step} is out of range` : undefined;
  }
  for (const part of field.split(",")) {
    const m = /^(\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return `${name} field ${JSON.stringify(field.length > 20 ? `${field.slice(0, 20)}...` : field)} is not a number, range, list or step`;
    const [lo, hi, step] = [Number(m[1]), m[2] === undefined ? undefined : Number(m[2]), m[3]];
    if (lo < min || lo > max || (hi !== undefined && (hi < min || hi > max))) return `${name} must be ${min}-${max}`;
    if (hi !== undefined && hi < lo) return `${name} range ${part} runs backwards`;
    if (step !== undefined && (Number(step) < 1 || Number(step) > max)) return `${name} step ${step} is out of range`;
  }
  return undefined;
}

const CRON_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 6],
];

export const RULES = {
  // https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcontainerregistry
  registry: {
    what: "container registry name",
    pattern: /^[a-zA-Z0-9]{5,50}$/,
    description: "5-50 letters and digits (no hyphens), globally unique",
  },
  keyVault: {
    what: "key vault name",
    pattern: /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
    description: "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no '--'",
    extra: (v: string) => (v.includes("--") ? "contains '--'" : undefined),
    schema: { notPatterns: ["--"] },
  },
  resourceGroup: {
    what: "resource group name",
    pattern: /^[-\w.()]{0,89}[-\w()]$/,
    description: "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
  },
  // azurerm: ^[a-zA-Z][a-zA-Z0-9-]{4,48}$ (the provider's own limit is 49, stricter than Azure's 50)
  token: {
    what: "registry token name",
    pattern: /^[a-zA-Z][a-zA-Z0-9-]{4,48}$/,
    description: "5-49 letters, digits and hyphens, starting with a letter",
  },
  scopeMap: {
    what: "scope map name",
    pattern: /^[a-zA-Z0-9-]{5,49}$/,
    description: "5-49 letters, digits and hyphens",
  },
  // Azure: 5-50 alphanumerics, '-' and '_'; azurerm only checks ^[\w-]*$
  task: {
    what: "registry task name",
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]{4,49}$/,
    description: "5-50 letters, digits, '-' and '_', starting with a letter or digit",
  },
  containerGroup: {
    what: "container group name",
    pattern: /^[a-z0-9](?:[a-z0-9]|-(?!-)){0,61}[a-z0-9]$/,
    description: "2-63 lowercase letters, digits and single hyphens, not starting or ending with a hyphen",
  },
  dnsLabel: {
    what: "DNS name label",
    pattern: /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/,
    description: "3-63 lowercase letters, digits and hyphens, starting with a letter, ending with a letter or digit",
  },
  keyVaultSecret: {
    what: "key vault secret name",
    pattern: /^[a-zA-Z0-9-]{1,127}$/,
    description: "1-127 letters, digits and hyphens",
  },
  // OCI distribution spec: path components and tags
  repository: {
    what: "image repository",
    pattern: new RegExp(`^${REPOSITORY}$`),
    description: "lowercase path components of letters and digits separated by '.', '_', '__' or '-', joined by '/'",
    extra: (v: string) => (v.length > 255 ? "is longer than 255 characters" : undefined),
    schema: { maxLength: 255 },
  },
  /** An app's image repository in its team registry: one lowercase path component. */
  appName: {
    what: "app name",
    pattern: /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    description: "a lowercase image repository name of letters and digits separated by single '.', '_' or '-', at most 50 characters",
    extra: (v: string) => (v.length > 50 ? "is longer than 50 characters" : undefined),
    schema: { maxLength: 50 },
  },
  tag: {
    what: "image tag",
    pattern: new RegExp(`^${TAG}$`),
    description: "1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
  },
  /** `repository:tag` at an upstream or in base artifacts: no registry host, no digest. */
  imageTag: {
    what: "image",
    pattern: new RegExp(`^${REPOSITORY}:${TAG}$`),
    description: "'repository:tag', e.g. 'node:15-alpine' (lowercase repository, no registry host, no digest)",
    extra: (v: string) => (/^[^/]*[.:][^/]*\//.test(v) || v.startsWith("localhost/") ? "names a registry host" : undefined),
    schema: { notPatterns: ["^[^/]*[.:][^/]*/", "^localhost/"] },
  },
  /**
   * Where a gated image comes from: one of the registry hosts acr-gate knows (lib/upstream-hosts.ts),
   * lower case, no scheme, user, port or path; or the simulated public registry.
   */
  upstreamHost: {
    what: "upstream registry",
    pattern: new RegExp(UPSTREAM_HOST_PATTERN),
    description: UPSTREAM_HOSTS_TEXT,
    // `<name>.azurecr.io` is at most 61 characters; the pattern keeps the others within 50.
    schema: { maxLength: 61 },
  },
  /** A full reference an engine pulls: `[registry/]repository[:tag][@sha256:digest]`. */
  imageReference: {
    what: "image reference",
    pattern: new RegExp(`^(?:${HOST}/)?${REPOSITORY}(?::${TAG})?(?:@${DIGEST})?$`),
    description: "'[registry/]repository[:tag][@sha256:<64 hex>]', e.g. 'mcr.microsoft.com/azuredocs/aci-helloworld:latest'",
    extra: (v: string) => portProblem(v) ?? (v.length > 512 ? "is longer than 512 characters" : undefined),
    schema: { maxLength: 512, notPatterns: ["^[^/]*:(?:0+|[0-9]{6,}|[7-9][0-9]{4}|6[6-9][0-9]{3}|65[6-9][0-9]{2}|655[4-9][0-9]|6553[6-9])/"] },
  },
  location: {
    what: "Azure location",
    pattern: /^[a-z][a-z0-9]{2,30}$/,
    description: "an Azure region name in lowercase without spaces, e.g. 'eastus' or 'westeurope'",
    extra: (v: string) =>
      PUBLIC_LOCATIONS.has(v)
        ? undefined
        : SOVEREIGN.has(v)
          ? "is a sovereign-cloud region, which acr-gate does not support (its registries are not <name>.azurecr.io)"
          : "is not an Azure public-cloud region (see lib/azure-regions.ts)",
  },
  // github.com only: every context is cloned with the GitHub token (variable github_token), which
  // ACR would hand to any other host named here.
  gitContext: {
    what: "Git context URL",
    pattern: new RegExp(
      `^https://github\\.com/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+\\.git(?:#[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*(?::[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*)?)?$`,
    ),
    description:
      "'https://github.com/<owner>/<repository>.git', optionally followed by '#<branch>' or '#<branch>:<folder>' (letters, digits, '.', '_', '-'; no user name, password, port or query; other hosts would receive the GitHub token)",
    extra: (v: string) => dotSegment(v.replace(/^https:\/\/[^/]+/, "").replace(/\.git(?=#|$)/, "")) ?? (v.length > 512 ? "is longer than 512 characters" : undefined),
    // A '.' or '..' segment of the path, or a repository named so (`/x/..git`); only the first
    // `.git` before '#' or the end is the suffix, as in `extra`.
    schema: { maxLength: 512, notPatterns: ["[/:#]\\.\\.?(?:[/:#]|$)", "^https://[^/]+/[^/#]+/\\.\\.?\\.git(?:#|$)"] },
  },
  /** A file inside a Git context: relative, no '..', nothing a shell or `docker build` would read as an option. */
  relativePath: {
    what: "relative path",
    pattern: /^(?!-)[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/,
    description: "a relative path of letters, digits, '.', '_', '-' and '/' (no leading '/' or '-', no '..' segment)",
    extra: (v: string) => dotSegment(v) ?? (v.length > 255 ? "is longer than 255 characters" : undefined),
    schema: { maxLength: 255, notPatterns: [DOT_SEGMENT] },
  },
  cron: {
    what: "timer schedule",
    pattern: /^\S+(?: \S+){4}$/,
    description:
      "a five-field cron expression in UTC (minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-6; each '*', '*/n', 'a', 'a-b', 'a-b/n' or a list), e.g. '0 3 * * *'",
    schema: { pattern: `^${CRON_SCHEMA}$` },
    extra: (v: string) => {
      const fields = v.split(" ");
      for (let i = 0; i < CRON_FIELDS.length; i++) {
        const [name, min, max] = CRON_FIELDS[i];
        const p = cronFieldProblem(fields[i], name, min, max);
        if (p) return p;
      }
      return undefined;
    },
  },
  // https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
  tagKey: {
    what: "tag name",
    pattern: /^[^<>%&\\?/]{1,512}$/,
    description: "1-512 characters without '<', '>', '%', '&', '\\', '?' or '/', not starting with 'microsoft', 'azure' or 'windows'",
    extra: (v: string) =>
      /^(microsoft|azure|windows)/i.test(v) ? "uses a prefix Azure reserves" : v !== v.trim() ? "has leading or trailing spaces" : undefined,
    schema: { notPatterns: [anyCase("microsoft"), anyCase("azure"), anyCase("windows"), "^\\s", "\\s$"] },
  },
  tagValue: {
    what: "tag value",
    pattern: /^[\s\S]{0,256}$/,
    description: "at most 256 characters",
  },
  ipv4Range: {
    what: "IPv4 address or CIDR range",
    pattern: /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\/(?:3[0-2]|[12]?\d))?$/,
    description: "an IPv4 address or CIDR range such as '203.0.113.0/24' (octets 0-255 without leading zeros, prefix 0-32)",
  },
  storageAccount: {
    what: "storage account name",
    pattern: /^[a-z0-9]{3,24}$/,
    description: "3-24 lowercase letters and digits",
  },
  storageContainer: {
    what: "storage container name",
    pattern: /^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/,
    description: "3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
  },
  /** The azurerm backend's blob name: a plain path, nothing a shell or Terraform would read. */
  blobName: {
    what: "state blob name",
    pattern: SAFE_PATH,
    description: "letters, digits, '.', '_', '-' and '/' (no leading '/', no '..' segment), at most 1024 characters",
    extra: (v: string) => dotSegment(v) ?? (v.length > 1024 ? "is longer than 1024 characters" : undefined),
    schema: { maxLength: 1024, notPatterns: [DOT_SEGMENT] },
  },
  /**
   * A local state path, relative to the stack directory (cdktf.out/stacks/<stack>/): it must climb
   * exactly out of cdktf.out, which every synth replaces, and may not climb further (a config must
   * not point Terraform at another project's state).
   */
  statePath: {
    what: "local state path",
    pattern: /^\.\.\/\.\.\/\.\.\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.tfstate$/,
    description:
      "'../../../<name>.tfstate' or '../../../<folder>/<name>.tfstate': beside the output directory (state inside it would be deleted by the next synth), never further up, letters, digits, '.', '_', '-'",
    extra: (v: string) => (v.slice(9).split("/").some((x) => x === "." || x === "..") ? "has a '.' or '..' segment after leaving the output" : undefined),
  },
  keyVaultCertificate: {
    what: "key vault certificate name",
    pattern: /^[a-zA-Z0-9-]{1,127}$/,
    description: "1-127 letters, digits and hyphens",
  },
  // Notation's signing certificate rules (notaryproject specifications): the subject has C, ST and O.
  certificateSubject: {
    what: "certificate subject",
    pattern: /^(?:CN|O|OU|L|ST|C)=[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}(?:, ?(?:CN|O|OU|L|ST|C)=[A-Za-z0-9][A-Za-z0-9 ._-]{0,63})*$/,
    description:
      "'CN=...,O=...,ST=...,C=..' attributes (CN, O, OU, L, ST, C, each once) of letters, digits, spaces, '.', '_' and '-', with C (two letters), ST and O present, as Notation requires",
    extra: (v: string) => {
      const keys = v.split(/, ?/).map((x) => x.slice(0, x.indexOf("=")));
      const dup = keys.find((k, i) => keys.indexOf(k) !== i);
      if (dup) return `repeats ${dup}`;
      const missing = ["C", "ST", "O"].filter((k) => !keys.includes(k));
      if (missing.length) return `has no ${missing.join(", ")}`;
      if (!/(?:^|, ?)C=[A-Z]{2}(?:,|$)/.test(v)) return "has a C that is not a two-letter country code";
      return undefined;
    },
    schema: {
      patterns: ["(?:^|, ?)O=", "(?:^|, ?)ST=", "(?:^|, ?)C=[A-Z]{2}(?:,|$)"],
      notPatterns: ["CN", "O", "OU", "L", "ST", "C"].map((k) => `(?:^|, ?)${k}=.*, ?${k}=`),
    },
  },
  // https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftoperationalinsights
  logWorkspace: {
    what: "Log Analytics workspace name",
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/,
    description: "4-63 letters, digits and hyphens, starting and ending with a letter or digit",
  },
  logWorkspaceId: {
    what: "Log Analytics workspace resource id",
    pattern:
      /^\/subscriptions\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\/resourceGroups\/[-\w.()]{0,89}[-\w()]\/providers\/Microsoft\.OperationalInsights\/workspaces\/[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/,
    description: "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>",
  },
  // An Entra ID object id: a user, a group, a service principal or managed identity.
  objectId: {
    what: "Entra ID object id",
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    description: "a GUID such as 00000000-0000-0000-0000-000000000000 (az ad signed-in-user show --query id, az ad sp show --id <app id> --query id)",
  },
  // The key of a Terraform map: cdktf rewrites hyphens and repeated underscores in map keys, so
  // only names it leaves alone are taken.
  deployerName: {
    what: "deployer name",
    pattern: /^[a-z][a-z0-9_]{0,39}$/,
    description: "1-40 lowercase letters, digits and single underscores between them, starting with a letter",
    extra: (v: string) => (/__|_$/.test(v) ? "has '__' or ends in '_'" : undefined),
    schema: { notPatterns: ["__", "_$"] },
  },
  // Part of state file and blob names, which some file systems compare case-insensitively.
  environment: {
    what: "environment name",
    pattern: /^[a-z][a-z0-9-]{0,29}$/,
    description: "1-30 lowercase letters, digits and hyphens, starting with a letter",
  },
  stackName: {
    what: "stack name",
    pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/,
    description: "1-63 letters, digits and hyphens, starting with a letter",
  },
} satisfies Record<string, NameRule>;

export type RuleName = keyof typeof RULES;

/** Returns a problem description, or undefined when `value` satisfies the rule. */
export function checkName(rule: RuleName, value: string): string | undefined {
  const r: NameRule = RULES[rule];
  if (!r.pattern.test(value)) return `is not a valid ${r.what}: must be ${r.description}`;
  const extra = r.extra?.(value);
  if (extra) return `is not a valid ${r.what}: ${extra}; must be ${r.description}`;
  return undefined;
}

/** Throws when a construct prop breaks a rule; tokens (unresolved values) are left to Azure. */
export function assertName(rule: RuleName, field: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  const problem = checkName(rule, value);
  if (problem) throw new Error(`${field}: ${JSON.stringify(value)} ${problem}`);
}
