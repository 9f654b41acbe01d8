import type { Request, Response } from "express";
import { InvalidNameError, parseIngestName } from "@pyroscope-relay/profile";
import { RequestError } from "./request-error.js";
import { readBody } from "./read-body.js";
import type { ReceiverContext } from "./receiver-context.js";
import { enqueueOrUnavailable } from "./enqueue.js";
import { tenantOf } from "./tenant.js";

/**
 * `POST /ingest`: validates `name` the way Pyroscope does, then stores body, query string and every
 * Content-Type value untouched. The 200 goes out only once the payload and all jobs are in Redis.
 */
export function ingestHandler(ctx: ReceiverContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const query = rawQuery(req.originalUrl);
    checkName(query);
    const tenant = tenantOf(req.headers["x-scope-orgid"]);
    const body = await readBody(req, ctx.maxBodyBytes);
    if (body.length === 0) {
      throw new RequestError("invalid_argument", "body: the profile is empty");
    }
    await enqueueOrUnavailable(ctx, "ingest", body, {
      kind: "ingest",
      receivedAt: Date.now(),
      tenant,
      query,
      contentTypes: req.headersDistinct["content-type"] ?? [],
    });
    res.status(200).end();
  };
}

function rawQuery(url: string): string {
  const at = url.indexOf("?");
  return at === -1 ? "" : url.slice(at + 1);
}

/** Rejects exactly what the writer could not forward: the same grammar reads the same query. */
function checkName(query: string): void {
  try {
    parseIngestName(query);
  } catch (err) {
    if (err instanceof InvalidNameError) {
      throw new RequestError("invalid_argument", err.message, { cause: err });
    }
    throw err;
  }
}
