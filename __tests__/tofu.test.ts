/**
 * The same JSON on OpenTofu (help/versions.md, "OpenTofu"): every stack of the default config and
 * every example validated and applied, then planned again with nothing to change, by OpenTofu's own
 * engine on the same mocked providers as tf-test.test.ts (`tofu test`, mock_provider since OpenTofu
 * 1.8), from the same provider mirror (served to OpenTofu under its registry's host name). The
 * day-2 cases of tf-test.test.ts are Terraform's only: they carry a state from one configuration to
 * the next with `state_key` (Terraform 1.11), and OpenTofu 1.12's test runner keys state by module
 * source, so a `before` module's state never reaches the root. OpenTofu comes from `npm run tofu`
 * (built from the Go module proxy into the cache once) or ACR_GATE_TOFU.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireTool } from "./support/go-render";
import { applyThenPlan } from "./support/tf-test";
import { atLeast, engine, exampleConfigs, expectApplyThenEmptyReplan, MIRROR, offlineEnv, synthesize, workDir } from "./support/tf-runner";

/** The version scripts/tofu.sh builds, and where it keeps it. */
const VERSION = fs.readFileSync(path.join(__dirname, "..", "scripts", "tofu.sh"), "utf8").match(/^VERSION=(v[\d.]+)$/m)![1];
const cached = path.join(process.env.ACR_GATE_CACHE_DIR || path.join(os.homedir(), ".cache", "acr-gate"), "bin", `tofu-${VERSION}`, "tofu");
const tofu = engine(process.env.ACR_GATE_TOFU ?? cached);
const ready = requireTool(
  `OpenTofu ${VERSION} (npm run tofu -- version builds it; or ACR_GATE_TOFU) and the provider mirror`,
  tofu.name === "tofu" && tofu.version !== "" && MIRROR !== undefined,
);
const work = workDir("tofu");
const configs = exampleConfigs();

describe("OpenTofu: the version built and tested is the one help/versions.md names", () => {
  (ready ? test : test.skip)("tofu version", () => {
    expect(`v${tofu.version}`).toBe(VERSION);
    expect(atLeast(tofu.version, "1.8")).toBe(true);
  });
});

describe("OpenTofu: validate, apply, then a plan that changes nothing, every stack", () => {
  (ready ? test.each(configs) : test.skip.each(configs))(
    "%s",
    (label, config) => {
      for (const [name, json] of synthesize(work, label, config)) {
        const dir = path.join(work, "apply", label, name);
        expectApplyThenEmptyReplan(work, tofu, dir, `${label}/${name}`, json, applyThenPlan);
        // validate after init (the run's), on the exact providers.
        const v = spawnSync(tofu.bin, ["validate", "-json", "-no-color"], { cwd: dir, env: offlineEnv(work, tofu), encoding: "utf8" });
        const valid = JSON.parse(v.stdout);
        expect({ stack: `${label}/${name}`, valid: valid.valid, errors: valid.error_count }).toEqual({ stack: `${label}/${name}`, valid: true, errors: 0 });
      }
    },
    240_000,
  );
});
