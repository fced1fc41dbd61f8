/** The folders `tmp()` (test/helpers.ts) made in this test file; test/setup/tmp.ts removes them after it. */
export const madeTmp: string[] = [];
