// Reconciliation: every few seconds (and right after a handler changed something) each runner is
// asked for its deploys that are not final, plus the final ones whose final state has not reached
// GitHub yet (marked `github: open`, or reverted after they were marked final in another state), and each is brought up to date on GitHub (deploy-sync.ts). Nothing is remembered between
// passes: what was posted lives in each deploy's metadata on its runner, so a restarted App, or a
// second instance, carries on where the last pass stopped.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import type { DeployState, DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { syncDeploy } from './deploy-sync.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { StickyComments } from './sticky-comment.ts';

const NOT_FINAL: DeployState[] = ['queued', 'running', 'ready-to-cutover', 'cutting-over', 'reverting'];
const FINAL: DeployState[] = ['complete', 'reverted', 'failed', 'aborted'];

export interface ReconcilerOptions {
  registry: RunnerRegistry;
  github(installation: number): Promise<ProbotOctokit>;
  sticky: StickyComments;
  log: Logger;
  intervalMs: number;
  progressIntervalMs: number;
}

export class Reconciler {
  readonly instanceId = randomBytes(6).toString('hex');
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Runs a pass as soon as the current one (if any) is over. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.kicked = false;
      await this.pass();
      if (!this.running || this.kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One pass over every runner; a runner or a deploy that fails is logged and retried on the next pass. */
  async pass(): Promise<void> {
    for (const client of this.options.registry.all()) {
      let deploys: DeployView[];
      try {
        deploys = [
          ...await client.list({ states: NOT_FINAL, limit: 1000 }),
          ...await client.list({ states: FINAL, external: { github: 'open' }, limit: 1000 }),
          ...(await client.list({ states: ['reverted'], external: { github: 'final' }, limit: 100 })).filter((d) => d.external.finalState !== d.state),
        ];
      } catch (err) {
        this.options.log.warn({ runner: client.origin, err: (err as Error).message }, 'reconcile: cannot list the runner\'s deploys');
        continue;
      }
      for (const deploy of deploys) {
        if (!this.running) return;
        await this.syncOne(client, deploy);
      }
    }
  }

  private async syncOne(client: RunnerClient, deploy: DeployView): Promise<void> {
    try {
      // Marked final in another state than it is in now: reverted since (by a /revert that came between
      // a pass's listing and its final mark, or outside GitHub). Reopened, so this state is posted too.
      if (deploy.external.github === 'final') {
        const reopened = await client.patchExternal(deploy.id, { set: { github: 'open' }, expect: { github: 'final' } });
        deploy.external = reopened.deploy.external;
      }
      const done = await syncDeploy({ ...this.options, client, instanceId: this.instanceId }, deploy);
      if (done && FINAL.includes(deploy.state) && deploy.external.github === 'open') {
        await client.patchExternal(deploy.id, { set: { github: 'final', finalState: deploy.state }, expect: { github: 'open' } });
      }
    } catch (err) {
      this.options.log.warn({ deploy: deploy.id, err: (err as Error).message }, 'reconcile: deploy not brought up to date');
    }
  }
}
