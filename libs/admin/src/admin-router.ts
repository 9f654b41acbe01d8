import { Code } from "@connectrpc/connect";
import { RequestError, type Logger, type RelayMetrics } from "@pyroscope-relay/ops";
import { asOfNow, purgeFailed, removedTargets, replayFailed, summarizeAskedTargets, type RedisConnection } from "@pyroscope-relay/queue";
import express, { Router } from "express";
import type { NextFunction, Request, Response } from "express";
import { adminAccess } from "./admin-access.js";
import { describeRequestError, purgeRequest, replayRequest } from "./operator-requests.js";
import { readRelayStatus, type BacklogBounds } from "./relay-status.js";
import { reloadFailureStatus } from "./reload-error.js";

export interface AdminRouterOptions {
  /** An `admin` connection: gives up during a Redis outage instead of holding requests open. */
  connection: RedisConnection;
  prefix: string;
  /** `--target.queue-shards`: queues per target, 1 by default. */
  shards?: number;
  /** `--queue.payload-ttl`: a replayed payload's TTL from now. */
  payloadTtlMs: number;
  /** Every target of the configuration, by name, as of now (a reload changes them). */
  targets: () => readonly string[];
  /** Each target's backlog bounds, reported with its backlog. */
  backlogBounds: BacklogBounds;
  /** This process's metrics, whose receiver counters `status` reports. */
  metrics: RelayMetrics;
  /** The receivers this process runs, by component label, as of now (none in a writer). */
  receivers: () => readonly string[];
  /**
   * Re-reads the configuration (`POST /-/reload`); rejects with a ReloadError saying why it did not
   * take and whether the running configuration stays. Without it there is no reload endpoint.
   */
  reload?: () => Promise<void>;
  token?: string;
  /** The ops server's `--server.http.listen-addr`. */
  listenAddr: string;
  logger: Logger;
}

/**
 * The ops server's admin API (JSON): `GET /api/v1/status` (what the dashboard page shows),
 * `GET /api/v1/failed[?target=NAME]`, `POST /api/v1/replay` and `POST /api/v1/purge`, the same
 * operations as the `failed`, `replay` and `purge` commands; and `/-/reload` (GET or POST, text, as Alloy's),
 * under the same access rule.
 */
export function createAdminRouter(options: AdminRouterOptions): Router {
  const { connection, prefix, shards, logger } = options;
  const checkTarget = (target: string) => {
    const known = options.targets();
    if (!known.includes(target)) {
      throw new RequestError(Code.NotFound, `unknown target ${JSON.stringify(target)} (targets: ${known.join(", ")})`);
    }
  };
  /** A target a reload removed can still be listed and purged: its queue stays in Redis until then. */
  const checkTargetOrRemoved = async (targets: readonly string[]) => {
    const removed = await removedTargets(connection, prefix, options.targets(), targets);
    for (const target of targets) if (!removed.includes(target)) checkTarget(target);
  };
  const body = (req: Request): unknown => {
    if (!req.is("application/json")) throw new RequestError(Code.InvalidArgument, "expected a JSON body (Content-Type: application/json)", { httpStatus: 415 });
    return req.body;
  };

  const router = Router();
  const access = adminAccess({ token: options.token, listenAddr: options.listenAddr });
  router.use("/api/v1", access, express.json({ limit: "16kb" }));

  const { reload } = options;
  if (reload !== undefined) {
    const reloadHandler: express.RequestHandler = async (_req, res) => {
      try {
        await reload();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return void res.status(reloadFailureStatus(error)).type("text/plain").send(`${message}\n`);
      }
      res.type("text/plain").send("config reloaded\n");
    };
    // GET too, as Alloy's: scripts written for Alloy reload with either.
    router.get("/-/reload", access, reloadHandler);
    router.post("/-/reload", access, reloadHandler);
  }

  router.get("/api/v1/status", async (_req, res) => {
    const status = await readRelayStatus({
      connection,
      prefix,
      shards,
      targets: options.targets(),
      bounds: options.backlogBounds,
      metrics: options.metrics,
      receivers: options.receivers(),
    });
    res.json(status);
  });

  router.get("/api/v1/failed", async (req, res) => {
    // Express 5's default query parser (node:querystring) gives a string, or an array when repeated.
    const asked = [(req.query["target"] as string | string[] | undefined) ?? []].flat();
    await checkTargetOrRemoved(asked);
    // Targets a reload removed keep their queues: listed (with what still waits) until purged by hand.
    res.json({ targets: await summarizeAskedTargets(connection, prefix, options.targets(), asked, shards) });
  });

  router.post("/api/v1/replay", async (req, res) => {
    const parsed = replayRequest.safeParse(body(req));
    if (!parsed.success) throw new RequestError(Code.InvalidArgument, describeRequestError(parsed.error));
    const { target, reason, exactReason, status, since, limit, dryRun = false } = parsed.data;
    checkTarget(target);
    const asOf = asOfNow(parsed.data.asOf);
    const result = await replayFailed({
      connection,
      prefix,
      target,
      shards,
      payloadTtlMs: options.payloadTtlMs,
      reason,
      exactReason,
      status,
      sinceMs: since,
      limit,
      asOfMs: asOf,
      dryRun,
    });
    logger.info({ request: parsed.data, ...result }, dryRun ? "admin API: replay dry run" : "admin API: replayed failed batches");
    res.json({ target, dryRun, asOf: new Date(asOf).toISOString(), ...result });
  });

  router.post("/api/v1/purge", async (req, res) => {
    const parsed = purgeRequest.safeParse(body(req));
    if (!parsed.success) throw new RequestError(Code.InvalidArgument, describeRequestError(parsed.error));
    const { target, olderThan, reason, exactReason, status, dryRun = false } = parsed.data;
    await checkTargetOrRemoved([target]);
    const asOf = asOfNow(parsed.data.asOf);
    const result = await purgeFailed({ connection, prefix, target, shards, olderThanMs: olderThan, reason, exactReason, status, asOfMs: asOf, dryRun });
    logger.info({ request: parsed.data, ...result }, dryRun ? "admin API: purge dry run" : "admin API: purged failed batches");
    res.json({ target, dryRun, asOf: new Date(asOf).toISOString(), ...result });
  });

  router.use("/api/v1", () => {
    throw new RequestError(Code.NotFound, "no such admin endpoint");
  });

  // Every error becomes a RequestError here, the one place that answers with one.
  router.use("/api/v1", (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const answer = asRequestError(error);
    if (answer.httpStatus === 500) logger.error({ err: error, path: req.path }, "admin API request failed");
    res.status(answer.httpStatus).json({ error: answer.rawMessage });
  });
  return router;
}

/** What the client is told about `error`: its own message for a request error or a bad body (body-parser), little else otherwise. */
function asRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  // body-parser's errors: malformed JSON, too large, bad charset.
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status === "number" && status >= 400 && status < 500 && typeof type === "string") {
    return new RequestError(Code.InvalidArgument, type === "entity.parse.failed" ? "malformed JSON body" : (error as Error).message, {
      httpStatus: status,
      cause: error,
    });
  }
  return new RequestError(Code.Internal, `admin operation failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
