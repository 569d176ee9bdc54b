/**
 * What acb needs to run a synthesized task away from Azure: its values with each Terraform
 * expression resolved from the JSON or stood in by a value of the same shape, and its task file
 * without the Key Vault `secrets:` list (acb would wait on the vault). Shared by
 * `npm run check-tasks` (app/acb-check.ts, placeholders) and `npm run lab` (local values).
 *
 * The same function is applied to task values and to the resources they are compared with, so
 * equal expressions give equal placeholders and different ones (a hash of 6 vs 8 digits, another
 * identity) stay different.
 */
import * as crypto from "crypto";
import * as YAML from "yaml";
import { acrLoginServer } from "../lib/upstream-hosts";

export const ZERO_GUID = "00000000-0000-0000-0000-000000000000";
/** Stand-in hex digits for a hash prefix (`substr(sha1(...), 0, 6)` gives "0a1b2c"). */
const HEX = "0a1b2c3d4e5f6a7b8c9d".repeat(7);

export type TemplatePart = { lit: string } | { expr: string; directive: boolean };

/** Splits a Terraform template string into literal text and `${...}` expressions (nesting and quotes aware). */
export function templateParts(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let lit = "";
  for (let i = 0; i < s.length; ) {
    if (s.startsWith("$${", i) || s.startsWith("%%{", i)) {
      lit += s.slice(i + 1, i + 3);
      i += 3;
      continue;
    }
    if (s.startsWith("${", i) || s.startsWith("%{", i)) {
      let depth = 0;
      let j = i + 1;
      let quote = false;
      for (; j < s.length; j++) {
        const c = s[j];
        if (quote) {
          if (c === "\\") j++;
          else if (c === '"') quote = false;
          continue;
        }
        if (c === '"') quote = true;
        else if (c === "{") depth++;
        else if (c === "}" && --depth === 0) break;
      }
      if (lit) parts.push({ lit });
      lit = "";
      parts.push({ expr: s.slice(i + 2, j).trim(), directive: s[i] === "%" });
      i = j + 1;
    } else lit += s[i++];
  }
  if (lit) parts.push({ lit });
  return parts;
}

type Json = Record<string, any>;
interface Found {
  type: string;
  data: boolean;
  body: Json;
}

/** A synthesized stack's JSON, read as Terraform would render its strings, with placeholders for what only Azure knows. */
export class Tf {
  constructor(readonly doc: Json) {}

  resources(type: string): Record<string, Json> {
    return (this.doc.resource && this.doc.resource[type]) || {};
  }

  /** The object a `type.name` (or `data.type.name`) reference points at, or undefined. */
  lookup(ref: string): Found | undefined {
    const m = /^(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)$/.exec(ref);
    if (!m) return undefined;
    const block = m[1] ? this.doc.data : this.doc.resource;
    return block && block[m[2]] && block[m[2]][m[3]] ? { type: m[2], data: !!m[1], body: block[m[2]][m[3]] } : undefined;
  }

  /** A string value with every expression replaced (see placeholder). Numbers and booleans as text. */
  str(v: unknown, depth = 0): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") return String(v);
    return templateParts(v)
      .map((p) => ("lit" in p ? p.lit : this.placeholder(p.expr, depth)))
      .join("");
  }

  /** A plausible value for one Terraform expression, derived from its shape. */
  placeholder(e: string, depth = 0): string {
    if (depth > 8) return fallback(e);
    let m: RegExpExecArray | null;
    // element(split("/", <x>.id), 2): the subscription id of an Azure resource id.
    if (/^element\(\s*split\(\s*"\/"\s*,\s*[^,]+\.id\s*\)\s*,\s*2\s*\)$/.test(e)) return ZERO_GUID;
    // Ids that are GUIDs.
    if (/\.(subscription_id|tenant_id|client_id|object_id|principal_id)$/.test(e) || /^var\.subscription_id$/.test(e)) return ZERO_GUID;
    // substr(sha1(...), 0, N): N hex digits.
    if ((m = /^substr\(\s*(?:sha1|sha256|sha512|md5)\(.*\)\s*,\s*0\s*,\s*(\d+)\s*\)$/.exec(e))) return HEX.slice(0, Number(m[1]));
    // A plain reference: the attribute's value when the JSON has it, an Azure id for `.id`.
    if ((m = /^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)$/.exec(e))) {
      const r = this.lookup(m[1]);
      if (r) {
        const attr = m[2];
        const v = r.body[attr];
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return this.str(v, depth + 1)!;
        if (attr === "id") return this.azureId(r, depth + 1);
      }
    }
    if ((m = /^var\.([A-Za-z0-9_]+)$/.exec(e))) return `var-${m[1]}`;
    return fallback(e);
  }

  /** `/subscriptions/0.../resourceGroups/<rg>/providers/<provider>/<type>/<name>` for a resource. */
  azureId(r: Found, depth: number): string {
    const name = this.str(r.body.name, depth) || "unknown";
    const sub = `/subscriptions/${ZERO_GUID}`;
    if (r.type === "azurerm_resource_group") return `${sub}/resourceGroups/${name}`;
    const rg = this.str(r.body.resource_group_name, depth) || "unknown-rg";
    const kinds: Record<string, string> = {
      azurerm_user_assigned_identity: "Microsoft.ManagedIdentity/userAssignedIdentities",
      azurerm_container_registry: "Microsoft.ContainerRegistry/registries",
      azurerm_container_group: "Microsoft.ContainerInstance/containerGroups",
      azurerm_key_vault: "Microsoft.KeyVault/vaults",
    };
    return `${sub}/resourceGroups/${rg}/providers/${kinds[r.type] || `acb-check.placeholder/${r.type}`}/${name}`;
  }

  /** The login server of the registry a task runs in (`--registry` of acb), or undefined. */
  loginServer(task: Json): string | undefined {
    const id = String(task.container_registry_id || "");
    const m = /^\$\{((?:data\.)?azurerm_container_registry\.[A-Za-z0-9_-]+)\.id\}$/.exec(id);
    const r = m ? this.lookup(m[1]) : undefined;
    if (r && r.body.login_server) return this.str(r.body.login_server)!.toLowerCase();
    const name = r ? this.str(r.body.name) : /\/registries\/([^/]+)$/i.test(id) ? id.split("/").pop() : undefined;
    return name && !name.includes("acb-check-expr") ? acrLoginServer(name) : undefined;
  }
}

function fallback(e: string): string {
  return `acb-check-expr-${crypto.createHash("sha1").update(e).digest("hex").slice(0, 8)}`;
}

/**
 * The task file as acb may receive it away from Azure (shared/tools/acb/README.md): no `secrets:`
 * list, and each secret reference replaced by `secret(id)`.
 */
export function withoutSecrets(text: string, secret: (id: string) => string): string {
  const kept: string[] = [];
  let inSecrets = false;
  for (const l of text.split("\n")) {
    if (/^\S/.test(l)) inSecrets = /^secrets\s*:/.test(l);
    if (!inSecrets) kept.push(l);
  }
  return kept
    .join("\n")
    .replace(/\{\{-?\s*index\s+\.Secrets\s+"([^"]+)"\s*-?\}\}/g, (_, id: string) => secret(id))
    .replace(/\{\{-?\s*\.Secrets\.([A-Za-z0-9_-]+)\s*-?\}\}/g, (_, id: string) => secret(id));
}

/** The `secrets:` list of the original file ({id, keyvault}), read before it is removed; undefined when it is not YAML before rendering. */
export function secretsOf(text: string): { id: string; keyvault?: string }[] | undefined {
  try {
    const doc = YAML.parse(text);
    return Array.isArray(doc && doc.secrets) ? doc.secrets : [];
  } catch {
    return undefined;
  }
}
