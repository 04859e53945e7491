import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, type EmbeddedServer } from '../../runner/embedded/mariadb.ts';

let server: EmbeddedServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startEmbeddedServer();
  project.provide('mariadbPort', server.port);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    mariadbPort: number;
  }
}
