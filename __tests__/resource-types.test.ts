/**
 * lib/resource-types.ts, one record of facts per resource type. Its generated counterpart, the
 * ForceNew maps of app/forcenew.json, must name the same types: a type added to one without the
 * other would be planned without its facts.
 */
import { forceNewMap, vendoredVersions } from "../app/provider-facts";
import { RESOURCE_TYPES, resourceType } from "../lib/resource-types";

const types = Object.keys(RESOURCE_TYPES);

test.each(vendoredVersions())("one record for each type app/forcenew.json covers at azurerm %s, and no other", (version) => {
  expect(types).toEqual(Object.keys(forceNewMap(version)).sort());
});

test("records sorted by type", () => {
  expect(types).toEqual([...types].sort());
});

test("every store of content is durable", () => {
  const stores = types.filter((t) => RESOURCE_TYPES[t].holds !== undefined);
  expect(stores).toEqual(["azurerm_container_registry", "azurerm_key_vault", "azurerm_log_analytics_workspace"]);
  for (const t of stores) expect(resourceType(t).durable).toBe(true);
});

test("a type without a record has no facts (nor does a name of Object's prototype)", () => {
  for (const t of ["azurerm_imaginary_widget", "constructor", "toString"]) {
    expect(resourceType(t)).toEqual({ durable: false, lockBlocksDelete: false });
  }
});
