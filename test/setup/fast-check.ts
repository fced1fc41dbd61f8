/** Every property of this worker runs from the run's seed (test/setup/seed.ts). */
import fc from 'fast-check';

const seed = Number(process.env.XD_SEED);
if (Number.isInteger(seed)) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
