// The App on its own, for a hosted App serving many runners: `npx tsx app/main.ts` (or the Docker
// image). Settings come from the environment (app-env.ts); SIGINT or SIGTERM stops it cleanly.
import { appOptionsFromEnv } from './app-env.ts';
import { startAppServer } from './app-server.ts';

const app = await startAppServer(appOptionsFromEnv(process.env));
app.log.info({ url: app.url }, 'schemabot App started');
const signal = await new Promise<string>((resolve) => {
  process.once('SIGINT', () => resolve('SIGINT'));
  process.once('SIGTERM', () => resolve('SIGTERM'));
});
app.log.info(`${signal}: stopping`);
await app.stop();
