/**
 * `npm run diff`'s word on a gate moved to another upstream (help/artifact-cache.md, "Names that
 * cannot collide"): the config refuses two upstream repositories in one target repository at a
 * time, but a gate whose upstream changes keeps its target, so the repository then holds the
 * earlier upstream's tags (its rollback tags too) beside the new one's. Read from the JSON alone:
 * each task's `acr-gate-from` and `acr-gate-builds` tags, and the cache rules that say what a
 * cached repository is a copy of.
 */
type Obj = Record<string, any>;

const repositoryOf = (ref: string) => ref.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
/** Docker Hub's official images are `library/<name>`, whichever way a reference spells them. */
const normal = (repo: string) => repo.replace(/^docker\.io\/library\/([^/]+)$/, "docker.io/$1");

/** The upstream repository a task's image comes from: through a cache rule of the JSON, its source. */
function originOf(tf: Obj, from: string): string {
  const repo = repositoryOf(from);
  for (const rule of Object.values<Obj>(tf.resource?.azurerm_container_registry_cache_rule ?? {})) {
    if (typeof rule.target_repo === "string" && repo.endsWith(`/${rule.target_repo}`)) return normal(String(rule.source_repo));
  }
  return normal(repo);
}

/** One note per task (same address) that now fills the same repository from another upstream repository. */
export function upstreamMoves(oldTf: Obj, newTf: Obj): string[] {
  const notes: string[] = [];
  const oldTasks: Obj = oldTf.resource?.azurerm_container_registry_task ?? {};
  for (const [name, task] of Object.entries<Obj>(newTf.resource?.azurerm_container_registry_task ?? {})) {
    const before = oldTasks[name]?.tags ?? {};
    const after = task.tags ?? {};
    if (!before["acr-gate-from"] || !after["acr-gate-from"] || !before["acr-gate-builds"] || !after["acr-gate-builds"]) continue;
    if (repositoryOf(before["acr-gate-builds"]) !== repositoryOf(after["acr-gate-builds"])) continue;
    const [was, now] = [originOf(oldTf, before["acr-gate-from"]), originOf(newTf, after["acr-gate-from"])];
    if (was === now) continue;
    notes.push(
      `azurerm_container_registry_task.${name}: now fills ${repositoryOf(after["acr-gate-builds"])} from ${now} (was ${was}); ` +
        `the repository keeps ${was}'s earlier tags, rollback tags included, beside the new ones: give the gate another target to keep them apart (help/artifact-cache.md)`,
    );
  }
  return notes;
}
