/** Waits a little longer after each failed attempt (2 ms, 4 ms, … capped at 200 ms), with jitter. */
export async function backoff(attempt: number): Promise<void> {
  const ms = Math.min(200, 2 ** attempt) * (0.5 + Math.random());
  await new Promise((r) => setTimeout(r, ms));
}
