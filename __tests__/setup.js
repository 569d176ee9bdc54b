require("cdktf").Testing.setupJest();
// Tests synthesize the way the app does (app/synth.ts): without cdktf's per-token stack traces,
// which jest's source-map support makes five times slower. cdktf-tuning.test.ts proves the JSON
// is the same either way.
require("../app/cdktf-tuning").skipCdktfCreationTraces();
