// Reconciliation: every few seconds (and right after a handler changed something) each runner is
// asked for its deploys that are not final, plus the final ones whose final state has not reached
// GitHub yet (marked `github: open`, or reverted after they were marked final in another state), and
// each is brought up to date on GitHub (deploy-sync.ts). Nothing is remembered between passes but
// backoffs: what was posted lives in each deploy's metadata on its runner, so a restarted App, or a
// second instance, carries on where the last pass stopped.
//
// Each runner has its own loop (with short request timeouts), so one that hangs delays no other. A
// deploy that could not be brought up to date is skipped on the next 1, 2, 4 … (at most 32) passes, so
// a request GitHub keeps refusing is not repeated every few seconds; a deploy whose installation is
// gone (the App was uninstalled or suspended) is marked `github: gone` and left alone.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import type { DeployState, DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { syncDeploy } from './deploy-sync.ts';
import { identityOf } from './deploy-external.ts';
import type { Poller, RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';
import type { StickyComments } from './sticky-comment.ts';

const NOT_FINAL: DeployState[] = ['queued', 'running', 'ready-to-cutover', 'cutting-over', 'reverting'];
const FINAL: DeployState[] = ['complete', 'reverted', 'failed', 'aborted'];
const MAX_SKIPPED_PASSES = 32;

export interface ReconcilerOptions {
  registry: RunnerRegistry;
  github(installation: number): Promise<ProbotOctokit>;
  signer: Signer;
  sticky: StickyComments;
  log: Logger;
  intervalMs: number;
  progressIntervalMs: number;
}

/** GitHub answering an installation-token request with 404 (uninstalled) or 403 (suspended). */
function installationGone(err: unknown): boolean {
  const { status, request } = err as { status?: number; request?: { url?: string } };
  return (status === 404 || status === 403) && /\/app\/installations\/\d+\/access_tokens$/.test(request?.url ?? '');
}

/** One runner's loop: passes every `intervalMs`, or at once when kicked. */
class RunnerLoop {
  private wake: (() => void) | undefined;
  private kicked = false;
  private passes = 0;
  /** Deploy id → failures in a row and the pass before which it is skipped. */
  private readonly backoff = new Map<string, { failures: number; until: number }>();
  done: Promise<void> = Promise.resolve();

  constructor(private readonly reconciler: Reconciler, private readonly runner: Poller) {}

  run(isRunning: () => boolean, intervalMs: number): void {
    this.done = (async () => {
      while (isRunning()) {
        this.kicked = false;
        await this.pass(isRunning);
        if (!isRunning() || this.kicked) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async pass(isRunning: () => boolean): Promise<void> {
    this.passes++;
    const { client } = this.runner;
    let deploys: DeployView[];
    try {
      deploys = [
        ...await client.list({ states: NOT_FINAL, limit: 1000 }),
        ...await client.list({ states: FINAL, external: { github: 'open' }, limit: 1000 }),
        ...(await client.list({ states: ['reverted'], external: { github: 'final' }, limit: 100 })).filter((d) => d.external.finalState !== d.state),
      ];
    } catch (err) {
      this.reconciler.log.warn({ runner: client.origin, err: (err as Error).message }, 'reconcile: cannot list the runner\'s deploys');
      return;
    }
    for (const deploy of deploys) {
      if (!isRunning()) return;
      if (deploy.external.github === 'gone' || (this.backoff.get(deploy.id)?.until ?? 0) > this.passes) continue;
      // Only deploys the App submitted, for an installation this runner serves: a runner cannot point the App at another tenant.
      const identity = identityOf(deploy, this.reconciler.signer);
      if (!identity || !this.runner.serves(identity.installation)) continue;
      const error = await this.reconciler.syncOne(client, deploy);
      if (!error) {
        this.backoff.delete(deploy.id);
        continue;
      }
      const failures = (this.backoff.get(deploy.id)?.failures ?? 0) + 1;
      this.backoff.set(deploy.id, { failures, until: this.passes + Math.min(2 ** (failures - 1), MAX_SKIPPED_PASSES) + 1 });
    }
  }
}

export class Reconciler {
  readonly instanceId = randomBytes(6).toString('hex');
  private running = false;
  private readonly loops: RunnerLoop[];

  constructor(private readonly options: ReconcilerOptions) {
    this.loops = options.registry.pollers().map((runner) => new RunnerLoop(this, runner));
  }

  get log(): Logger {
    return this.options.log;
  }

  get signer(): Signer {
    return this.options.signer;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const loop of this.loops) loop.run(() => this.running, this.options.intervalMs);
  }

  /** Runs a pass on every runner as soon as its current one (if any) is over. */
  kick(): void {
    for (const loop of this.loops) loop.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await Promise.all(this.loops.map((loop) => loop.done));
  }

  /** One pass over every runner, for a caller that drives the passes itself. */
  async pass(): Promise<void> {
    await Promise.all(this.loops.map((loop) => loop.pass(() => true)));
  }

  /** Brings one deploy up to date; what went wrong, if anything (logged). */
  async syncOne(client: RunnerClient, deploy: DeployView): Promise<unknown> {
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
      return undefined;
    } catch (err) {
      if (installationGone(err)) {
        this.options.log.warn({ deploy: deploy.id, installation: deploy.external.installation }, 'reconcile: the App is no longer installed there; the deploy is left alone on GitHub');
        await client.patchExternal(deploy.id, { set: { github: 'gone' } }).catch(() => undefined);
        return undefined;
      }
      this.options.log.warn({ deploy: deploy.id, err: (err as Error).message }, 'reconcile: deploy not brought up to date');
      return err;
    }
  }
}
