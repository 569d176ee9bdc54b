/** Every config under examples/ parses and synthesizes, policy included (validate and scan use them too). */
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { synth } from "./helpers";

const dir = path.join(__dirname, "..", "examples");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));

test("there are examples", () => {
  expect(files.sort()).toEqual(["dockerhub.yaml", "identity.yaml", "multi-team.yaml"]);
});

test.each(files)("%s synthesizes", (file) => {
  const config = parseConfig(fs.readFileSync(path.join(dir, file), "utf8"), file);
  const { tf } = synth(config);
  const tasks = Object.values(tf.resource.azurerm_container_registry_task).map((t: any) => t.name);
  expect(tasks).toEqual(expect.arrayContaining(config.apps.map((a) => a.taskName)));
  expect(tasks).toEqual(expect.arrayContaining(config.gatedImages.map((g) => g.taskName)));
});
