import { Code } from "@connectrpc/connect";
import { InvalidNameError, parseIngestName } from "@pyroscope-relay/profile";
import { headerValues, rawQuery } from "./http-exchange.js";
import type { ServerRequest, ServerResponse } from "./http-exchange.js";
import { RequestError } from "@pyroscope-relay/ops";
import type { BodyHold } from "./body-budget.js";
import { readBody } from "./read-body.js";
import { clientTenant, type ReceiverContext } from "./receiver-context.js";
import { tenantHeader } from "./tenant.js";
import { enqueueOrUnavailable } from "./enqueue.js";

/**
 * `POST /ingest`: validates `name` the way Pyroscope does, then stores body, query string and every
 * Content-Type value untouched (an empty body: nothing). The 200 goes out only once the payload and all jobs are in Redis.
 */
export function ingestHandler(ctx: ReceiverContext) {
  return async (req: ServerRequest, res: ServerResponse, hold: BodyHold): Promise<void> => {
    const query = rawQuery(req);
    checkName(query);
    const tenant = clientTenant(ctx, tenantHeader(req));
    const body = await readBody(req, ctx.maxBodyBytes, hold);
    if (res.headersSent) {
      // Answered meanwhile (the read deadline passed): what arrived since is not the client's profile to store.
      throw new RequestError(Code.DeadlineExceeded, "body: the request was answered before its body was complete", { httpStatus: 408 });
    }
    // An empty profile has no samples: Pyroscope answers 200 and stores nothing, and so does the relay.
    if (body.length > 0) {
      await enqueueOrUnavailable(ctx, "ingest", body, {
        kind: "ingest",
        receivedAt: Date.now(),
        tenant,
        query,
        contentTypes: headerValues(req, "content-type"),
      });
    }
    res.statusCode = 200;
    res.end();
  };
}

/** Rejects exactly what the writer could not forward: the same grammar reads the same query. */
function checkName(query: string): void {
  try {
    parseIngestName(query);
  } catch (err) {
    if (err instanceof InvalidNameError) {
      throw new RequestError(Code.InvalidArgument, err.message, { cause: err });
    }
    throw err;
  }
}
