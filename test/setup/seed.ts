/**
 * One fast-check seed for the whole run (vitest globalSetup): XD_SEED when given (to replay a
 * failure), else a fresh one each run. It is printed at the start, and fast-check prints it again
 * with the failing path when a property fails; test/setup/fast-check.ts hands it to every worker.
 */
export default function setup(): void {
  const given = process.env.XD_SEED;
  if (given !== undefined && !/^-?\d+$/.test(given)) throw new Error(`XD_SEED must be an integer, not ${JSON.stringify(given)}`);
  const seed = given !== undefined ? Number(given) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  process.env.XD_SEED = String(seed);
  console.log(`fast-check seed: ${seed} (replay a failure with XD_SEED=${seed} npx vitest run <file>)`);
}
