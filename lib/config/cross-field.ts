/**
 * What every cross-field rule works with. The rules run even when single fields failed (zod's
 * `when`, lib/config/schema.ts), on whatever parsed, so a problem in one section never hides an
 * unrelated one in another; each rule skips values that already failed their own rule (`valid`),
 * and reads the file through `str`, `rec` and `arr`, which see a wrong type as absent. Everything
 * is indexed by key: 2,000 apps stay linear.
 *
 * A section's derived defaults (`registryGroup`, `gateTarget`, `aciName`, ...) are computed once,
 * for its rules, other sections' rules and the resolved config alike. Each returns undefined when
 * what it derives from is itself invalid, so one mistake gives one message.
 */
import type { z } from "zod";
import { checkName, RuleName } from "../rules";
import { addressPart } from "../principal";

export type Path = (string | number)[];
export type Ctx = z.RefinementCtx;

/** What a section's cross-field rules are given: the file as parsed, and where to report. */
export interface Check {
  readonly ctx: Ctx;
  /** The whole file, after the untrusted-text rule; any part of it may be of a wrong type. */
  readonly c: Record<string, unknown>;
}

export function fail(ctx: Ctx, path: Path, input: unknown, message: string): void {
  ctx.addIssue({ code: "custom", path, input, message });
}

export const valid = (rule: RuleName, v: unknown): v is string => typeof v === "string" && checkName(rule, v) === undefined;
export const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
export const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A few names for a message: every offending entry repeats it, so it must stay short. */
export const some = (names: readonly string[]) => (names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")} and ${names.length - 5} more`);

export const fmtPath = (path: Path) => path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/**
 * One namespace of names that must not collide: Azure's own comparison (case-insensitive for
 * resource groups, registries, vaults, tasks) and the Terraform address derived from the name
 * (`addressPart`: lower case, runs of other characters as `_`), which must map one name to one
 * resource or one of them silently disappears from the JSON.
 */
export class Namespace {
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

/** The task names of one registry: each becomes `azurerm_container_registry_task.task_<registry>_<name>`. */
export const taskNamespace = (registry: string) => new Namespace(`task name in ${registry}`, "azurerm_container_registry_task.task_<registry>_");
