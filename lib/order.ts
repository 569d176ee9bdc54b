/**
 * Sorting text the same way on every machine: by UTF-16 code unit. `localeCompare` depends on the
 * process's locale (an output drawn on a German laptop and in CI could differ) and its first call
 * loads ICU's collator, about 9 ms of a synth.
 */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
