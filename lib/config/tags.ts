/** `tags`: the tags on every resource, beside acr-gate's own `managed-by`. */
import { z } from "zod";
import { anyCase, checkName } from "../rules";
import { ruleJsonSchema } from "./fields";
import { Check, fail, Namespace, rec } from "./cross-field";

/** Azure allows 50 tags per resource, and acr-gate adds managed-by. */
const MAX_TAGS = 49;
/** acr-gate's own tag, on every resource. */
const OWN_TAG = "managed-by";

export const tagsField = z
  .record(z.string(), z.string({ error: "must be a string" }).meta(ruleJsonSchema("tagValue")))
  .default({})
  .meta({
    description: "Tags on every resource besides `managed-by: acr-gate` (container groups get none: `az container create` drops them)",
    // What the cross-field check below says of one mapping, for editors: 49 (acr-gate adds the 50th), Azure's name and value rules.
    maxProperties: MAX_TAGS,
    propertyNames: ruleJsonSchema("tagKey", { notPatterns: [`${anyCase(OWN_TAG)}$`, "^__proto__$"] }),
  });

export function tagRules({ ctx, c }: Check): void {
  const tags = rec(c.tags);
  const tagKeys = Object.keys(tags);
  if (tagKeys.length > MAX_TAGS) fail(ctx, ["tags"], tags, `has ${tagKeys.length} tags; Azure allows 50 per resource and acr-gate adds managed-by`);
  const tagNames = new Namespace("tag name", null);
  for (const k of tagKeys) {
    tagNames.claim(ctx, ["tags", k], k); // Azure compares tag names case-insensitively
    const problem = k.toLowerCase() === OWN_TAG ? "is set by acr-gate itself" : checkName("tagKey", k);
    if (problem) fail(ctx, ["tags", k], k, problem);
    if (typeof tags[k] === "string") {
      const vp = checkName("tagValue", tags[k] as string);
      if (vp) fail(ctx, ["tags", k], tags[k], vp);
    }
  }
}
