/** The workflow diagram is drawn from the synthesized JSON (app/diagram.ts): it cannot disagree with it. */
import * as fs from "fs";
import * as path from "path";
import { renderWorkflow } from "../app/diagram";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { synth, withDefaults } from "./helpers";

const draw = (yaml?: string) => {
  const { tf, stack } = yaml === undefined ? synth() : synth(withDefaults(yaml));
  return renderWorkflow([{ name: stack.node.id, tf }]);
};

test("help/workflow.md is the diagram the default config synthesizes (regenerate: npm start, copy cdktf.out/workflow.md)", () => {
  const committed = fs.readFileSync(path.join(__dirname, "..", "help", "workflow.md"), "utf8");
  expect(committed).toBe(draw());
});

test("the diagram shows each registry, task, trigger, gate and app of the JSON", () => {
  const md = draw();
  for (const s of [
    "publicregistry (publicregistry.azurecr.io)",
    "task node-public",
    "gate node:15-alpine: functional-test + vulnerability-scan then promote node:15-alpine",
    "on: commit, base image update",
    "ACI hello-world-aci (hello-world-aci-rg)",
    "push fires base image trigger",
    "az container create",
  ]) {
    expect(md).toContain(s);
  }
  expect(md).not.toContain("TfToken");
});

test("a gate without a base image trigger has no trigger arrow into it, and says it runs on its timer", () => {
  const md = draw(DEFAULT_CONFIG_YAML.replace("    taskName: base-import-node\n", "    taskName: base-import-node\n    baseImageTrigger: false\n    timer: \"0 3 * * *\"\n"));
  expect(md).toContain("then promote node:15-alpine<br/>on: commit, timer 0 3 * * *");
  const gate = /(task\d+)\["task base-import-node/.exec(md)![1];
  expect(md).not.toMatch(new RegExp(`-\\.->\\|"push fires base image trigger"\\| ${gate}\\b`));
  // The app still follows the gate's pushes.
  expect(md).toMatch(new RegExp(`${gate} -\\.->\\|"push fires base image trigger"\\|`));
});

test("a scan-only gate has no base image trigger in the JSON, and the diagram does not claim one", () => {
  const yaml = DEFAULT_CONFIG_YAML.replace(
    "    test:\n      context: https://github.com/importing-public-content/import-baseimage-node.git#main\n    scan:\n      # node:15-alpine is end of life: an enforcing scan would block it on every run.\n      # The scan still runs and its findings are in the task log.\n      mode: report\n",
    "    test: { enabled: false }\n    timer: \"0 3 * * *\"\n",
  );
  expect(yaml).not.toBe(DEFAULT_CONFIG_YAML);
  const { tf, stack } = synth(withDefaults(yaml));
  const gate = Object.values<any>(tf.resource.azurerm_container_registry_task).find((t) => t.name === "base-import-node");
  expect(gate.base_image_trigger).toBeUndefined();
  const md = renderWorkflow([{ name: stack.node.id, tf }]);
  expect(md).toContain("gate node:15-alpine: vulnerability-scan then promote node:15-alpine<br/>on: timer 0 3 * * *");
});

test("split: each app's container group shows its group, which the team stack names (the platform makes it)", () => {
  const { synthStacks } = require("./helpers");
  const { parseConfig } = require("../lib/config");
  const stacks = synthStacks(parseConfig(fs.readFileSync(path.join(__dirname, "..", "examples", "split.yaml"), "utf8")));
  const md = renderWorkflow(stacks.map((s: any) => ({ name: s.name, tf: s.tf })));
  expect(md).toContain("ACI storefront-aci (storefront-aci-rg)");
  expect(md).not.toContain("(?)");
});
