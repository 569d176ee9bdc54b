/**
 * The lab's own fixtures of the tasks' Git contexts (lab/contexts/), made for each task.
 */
import * as fs from "fs";
import * as path from "path";
import { LabError } from "./lab-host";
import { REPO_ROOT } from "./lab-images";
import type { LabTask } from "./lab-tasks";

/**
 * The lab's own fixture of a task's context (lab/contexts/: the walkthrough's sample repositories,
 * and examples/gate-test with an allowed-colour list), made for the task: the image the upstream
 * builds, the base image and port of the app, the Dockerfile path of the gate's test build.
 */
export function fixtureContext(task: LabTask, into: string): string {
  const files = new Map<string, string>();
  const add = (dir: string) => {
    for (const f of fs.readdirSync(dir)) files.set(f, fs.readFileSync(path.join(dir, f), "utf8"));
  };
  const repoTag = (image: string | undefined) => (image ? image.slice(image.indexOf("/") + 1) : undefined);
  const text = "text" in task.taskFile ? task.taskFile.text : "";
  const walkthrough = "node:15-alpine";
  if (task.role === "upstream") {
    add(path.join(REPO_ROOT, "lab", "contexts", "base-image-node"));
    const built = repoTag(task.builds) ?? walkthrough;
    for (const [f, t] of files) files.set(f, t.split(walkthrough).join(built));
  } else if (task.role === "gate") {
    add(path.join(REPO_ROOT, "examples", "gate-test"));
    add(path.join(REPO_ROOT, "lab", "contexts", "gate-test"));
    const dockerfile = /build: -f (\S+) /.exec(text)?.[1];
    if (dockerfile && dockerfile !== "Dockerfile") files.set(dockerfile, files.get("Dockerfile")!);
  } else {
    add(path.join(REPO_ROOT, "lab", "contexts", "hello-world"));
    const base = repoTag(task.from) ?? walkthrough;
    const port = /--ports (\d+)/.exec(text)?.[1] ?? "80";
    const d = files.get("Dockerfile")!.split(walkthrough).join(base).replace(/^EXPOSE 80$/m, `ENV PORT ${port}\nEXPOSE ${port}`);
    files.set("Dockerfile", d);
  }
  for (const [f, t] of files) {
    const dst = path.join(into, f);
    if (!dst.startsWith(into + path.sep)) throw new LabError(`task ${task.name}: its Dockerfile path ${f} leaves the context`);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.writeFileSync(dst, t, { mode: f.endsWith(".sh") ? 0o755 : 0o644 });
  }
  return into;
}
