import type { RequestHandler, Router } from "express";

/**
 * The admin API's place on the ops server for as long as it listens. The ops server starts before
 * the relay reaches Redis (an embedded Redis may load a large AOF for minutes) and stops after it,
 * so that health and metrics answer meanwhile; while the admin router is not handed over, or taken
 * back at shutdown before its Redis connection closes, its requests are answered 503 with the
 * reason, and every other path goes on to the next handler.
 */
export class AdminGate {
  private router: Router | undefined;
  private reason = "the relay is starting: Redis is not ready yet";
  /** Requests the admin router is answering. */
  private inFlight = 0;
  private idle: (() => void) | undefined;

  /** From now on the admin router answers its paths. */
  open(router: Router): void {
    this.router = router;
  }

  /**
   * The relay shuts down: its admin API answers 503 again, and this resolves once the requests the
   * router is answering (a replay, a purge) are done, or after `graceMs`, before their Redis
   * connection closes under them.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.router = undefined;
    this.reason = "the relay is shutting down";
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      timer = setTimeout(resolve, graceMs);
    });
    clearTimeout(timer);
  }

  readonly handler: RequestHandler = (req, res, next) => {
    if (this.router !== undefined) {
      this.inFlight++;
      res.once("close", () => {
        if (--this.inFlight === 0) this.idle?.();
      });
      this.router(req, res, next);
    } else if (req.path === "/-/reload") {
      res.status(503).type("text/plain").send(`${this.reason}: no configuration reloaded\n`);
    } else if (req.path === "/api/v1" || req.path.startsWith("/api/v1/")) {
      res.status(503).json({ error: this.reason });
    } else {
      next();
    }
  };
}
