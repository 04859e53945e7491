#!/usr/bin/env node
// Runs the TypeScript CLI directly; tsx is a runtime dependency so `npx schemabot` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../runner/cli/main.ts');
