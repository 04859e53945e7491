// Names the online-migration engine gives its helper tables (shadow `T__gho`, changelog `T__ghc`, kept
// original `T__old`, swap-back sentry `T__rev`, dropped `T__dropped<N>`, gh-ost's `_T_gho`/`_T_ghc`/`_T_del`).
// The planner never diffs such tables; a schema file that defines one is refused, saying why.
export const HELPER_TABLE_REGEXP = '^_.*_(gho|ghc|del)$|__(gho|ghc|old|rev)$|__dropped[0-9]+$';

const HELPER = new RegExp(HELPER_TABLE_REGEXP);

export function isHelperTable(name: string): boolean {
  return HELPER.test(name);
}
