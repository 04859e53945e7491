// Bundled into dist/index.js (scripts/build-action.ts), which action.yml runs.
import { run } from './main.ts';

await run();
