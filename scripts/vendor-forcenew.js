#!/usr/bin/env node
/**
 * Writes app/forcenew.json: for each azurerm version acr-gate pins, can pin, or upgrades from, and
 * each resource type acr-gate can emit, the attribute paths whose change makes Terraform replace the
 * resource. `npm run diff` (app/diff-rules.ts, through app/provider-facts.ts) reads it and
 * takes the map of the version the NEW file pins: that provider plans the change.
 *
 * Why a vendored subset: the facts come from research dumps of every azurerm type at each tag
 * (../shared/research/azurerm-<version>-forcenew.json, outside this repository). A user's clone
 * does not have those files, so we copy the few types we use into the repository.
 *
 * Re-run after adding a construct that imports a new provider-azurerm class, or after changing the
 * versions in lib/provider-versions.ts (then dump the research file for the new version first):
 *
 *   node scripts/vendor-forcenew.js [--research-dir <folder of the research json files>]
 *
 * A new type also needs its record of hand-written facts in lib/resource-types.ts (durable? does a
 * lock stop its delete? ...); __tests__/resource-types.test.ts checks that both name the same types.
 *
 * __tests__/replacement-preview.test.ts checks that app/forcenew.json equals what this script
 * would write (when the research files exist), so a forgotten re-run fails the tests.
 */
"use strict";
const fs = require("fs");
const path = require("path");

const REPO = path.resolve(__dirname, "..");
const DEFAULT_RESEARCH_DIR = path.resolve(REPO, "..", "shared", "research");
/**
 * The pinned version first, then the other version CI proves (lib/provider-versions.ts
 * AZURERM_VERSIONS), then the version of the bindings, which states deployed before the pin moved
 * were planned with (kept so that `npm run diff` across an upgrade can compare the two maps).
 */
const VERSIONS = ["4.81.0", "5.2.0", "4.55.0"];
const researchFile = (dir, v) => path.join(dir, `azurerm-${v}-forcenew.json`);
const OUT = path.join(REPO, "app", "forcenew.json");

/** Types we expect to emit soon (issue 10), on top of the ones the constructs import today. */
const PLANNED_AZURERM_TYPES = [
  "azurerm_container_registry_cache_rule",
  "azurerm_container_registry_credential_set",
  "azurerm_log_analytics_workspace",
  "azurerm_monitor_diagnostic_setting",
  "azurerm_key_vault_certificate",
  "azurerm_user_assigned_identity",
  "azurerm_role_definition",
];

/** The time provider's two resources; the research file carries them (from time 0.13.1's source). */
const TIME_TYPES = ["time_static", "time_sleep"];

/**
 * Terraform's built-in terraform_data is in no provider dump. From Terraform's source
 * (internal/builtin/providers/terraform/resource_data.go, planDataStoreResourceChange): a change of
 * `triggers_replace` requires replacement; a change of `input` is an in-place update that makes
 * `output` unknown (terraform_data's record in lib/resource-types.ts encodes that second fact).
 */
const TERRAFORM_DATA = { terraform_data: ["triggers_replace"] };

/**
 * The azurerm resource types the sources import today: every deep import
 * `@cdktf/provider-azurerm/lib/<dir>` in the .ts files of constructs/ and lib/ (subfolders too),
 * where <dir> is the type without `azurerm_` in kebab case. `data-*` (data sources) and `provider`
 * are not resources.
 */
function importedAzurermTypes(repo = REPO) {
  const types = new Set();
  for (const dir of ["constructs", "lib"]) {
    const abs = path.join(repo, dir);
    for (const file of fs.readdirSync(abs, { recursive: true }).filter((f) => f.endsWith(".ts"))) {
      const text = fs.readFileSync(path.join(abs, file), "utf8");
      for (const m of text.matchAll(/provider-azurerm\/lib\/([a-z0-9-]+)/g)) {
        const lib = m[1];
        if (lib === "provider" || lib.startsWith("data-")) continue;
        types.add(`azurerm_${lib.replace(/-/g, "_")}`);
      }
    }
  }
  return [...types];
}

/** Every type app/forcenew.json must cover, sorted. */
function wantedTypes(repo = REPO) {
  return [...new Set([...importedAzurermTypes(repo), ...PLANNED_AZURERM_TYPES, ...TIME_TYPES])].sort();
}

/**
 * The file's content as an object, keys sorted so the output is stable. `researchByVersion`: the
 * parsed research file of each version in VERSIONS. Throws on a missing type.
 */
function buildForceNew(researchByVersion, types) {
  const out = {
    _source:
      "Vendored by scripts/vendor-forcenew.js from the research files azurerm-<version>-forcenew.json " +
      "(ForceNew attribute paths of the azurerm provider schema at each version's tag; time_static and " +
      "time_sleep from the time provider 0.13.1), for the types acr-gate emits or plans to. Replacements " +
      "forced in CustomizeDiff code are not in the schema dumps: lib/resource-types.ts encodes the ones " +
      "among these types (forcesReplacementInCustomizeDiff). terraform_data added by hand " +
      "from Terraform's internal/builtin/providers/terraform/resource_data.go. Do not edit: re-run the script.",
    _pinned: VERSIONS[0],
    versions: {},
  };
  for (const v of VERSIONS) {
    const research = researchByVersion[v];
    if (!research) throw new Error(`no research file for azurerm ${v}`);
    const missing = types.filter((t) => !Array.isArray(research[t]));
    if (missing.length) throw new Error(`not in the research file of ${v}: ${missing.join(", ")}`);
    const map = {};
    for (const t of [...types, ...Object.keys(TERRAFORM_DATA)].sort()) {
      map[t] = TERRAFORM_DATA[t] ?? [...research[t]].sort();
    }
    out.versions[v] = map;
  }
  return out;
}

/** Reads the research file of every version in VERSIONS from `dir`; undefined when one is absent. */
function readResearch(dir = DEFAULT_RESEARCH_DIR) {
  const out = {};
  for (const v of VERSIONS) {
    const f = researchFile(dir, v);
    if (!fs.existsSync(f)) return undefined;
    out[v] = JSON.parse(fs.readFileSync(f, "utf8"));
  }
  return out;
}

function render(obj) {
  return JSON.stringify(obj, null, 2) + "\n";
}

function main(argv) {
  const i = argv.indexOf("--research-dir");
  const dir = i >= 0 ? argv[i + 1] : DEFAULT_RESEARCH_DIR;
  const research = dir && readResearch(dir);
  if (!research) {
    console.error(`vendor-forcenew: research files not found in ${dir}: ${VERSIONS.map((v) => `azurerm-${v}-forcenew.json`).join(", ")}`);
    process.exit(1);
  }
  const types = wantedTypes();
  fs.writeFileSync(OUT, render(buildForceNew(research, types)));
  console.log(`vendor-forcenew: wrote ${path.relative(process.cwd(), OUT)} (${types.length + 1} types, azurerm ${VERSIONS.join(", ")})`);
}

module.exports = { DEFAULT_RESEARCH_DIR, VERSIONS, OUT, importedAzurermTypes, wantedTypes, buildForceNew, readResearch, render };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`vendor-forcenew: ${e.message}`);
    process.exit(1);
  }
}
