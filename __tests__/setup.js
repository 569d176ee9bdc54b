// cdktf (and the CLI core some tests run) phones HashiCorp's checkpoint service unless told not
// to: with no network that prints red getaddrinfo lines into a green run. Children inherit it.
process.env.CHECKPOINT_DISABLE = "1";
require("cdktf").Testing.setupJest();
// Tests synthesize the way the app does (app/synth.ts): without cdktf's per-token stack traces,
// which jest's source-map support makes five times slower. cdktf-tuning.test.ts proves the JSON
// is the same either way.
require("../app/cdktf-tuning").skipCdktfCreationTraces();
