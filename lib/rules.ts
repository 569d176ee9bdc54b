/**
 * The naming and value rules Azure applies to what acr-gate creates, in one place.
 *
 * The azurerm provider checks several of these only partly (no length check on task names, no
 * start/end/`--` rule on Key Vault names, almost nothing on container group names), so a bad name
 * would only fail in the middle of `terraform apply`. Config parsing and construct props both call
 * {@link checkName}; nothing else duplicates a rule.
 */

import { Token } from "cdktf";

export interface NameRule {
  /** What the rule is about, as it appears in messages. */
  readonly what: string;
  readonly pattern: RegExp;
  /** The rule in words, quoted in error messages. */
  readonly description: string;
  /** Extra checks a single regex cannot express clearly. */
  readonly extra?: (value: string) => string | undefined;
}

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
  },
  resourceGroup: {
    what: "resource group name",
    pattern: /^[-\w.()]{0,89}[-\w()]$/u,
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
    pattern: /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
    description: "lowercase path components of letters and digits separated by '.', '_', '__' or '-', joined by '/'",
  },
  tag: {
    what: "image tag",
    pattern: /^[\w][\w.-]{0,127}$/,
    description: "1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
  },
  location: {
    what: "Azure location",
    pattern: /^[a-z][a-z0-9]{2,30}$/,
    description: "a location name in lowercase without spaces, e.g. 'eastus' or 'westeurope'",
  },
  gitContext: {
    what: "Git context URL",
    pattern: /^https:\/\/[^\s#]+\.git(?:#[^\s:]+(?::[^\s]+)?)?$/,
    description: "an https URL ending in '.git', optionally followed by '#<branch>' or '#<branch>:<folder>'",
  },
  cron: {
    what: "timer schedule",
    pattern: /^\S+( \S+){4}$/,
    description: "a five-field cron expression in UTC, e.g. '0 3 * * *'",
  },
} satisfies Record<string, NameRule>;

export type RuleName = keyof typeof RULES;

/** Returns a problem description, or undefined when `value` satisfies the rule. */
export function checkName(rule: RuleName, value: string): string | undefined {
  const r: NameRule = RULES[rule];
  const extra = r.extra?.(value);
  if (!r.pattern.test(value) || extra) {
    return `is not a valid ${r.what}: must be ${r.description}`;
  }
  return undefined;
}

/** Throws when a construct prop breaks a rule; tokens (unresolved values) are left to Azure. */
export function assertName(rule: RuleName, field: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  const problem = checkName(rule, value);
  if (problem) throw new Error(`${field}: ${JSON.stringify(value)} ${problem}`);
}
