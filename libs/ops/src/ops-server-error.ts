/** The ops server could not start on its listen address (malformed, or the port is taken). */
export class OpsServerError extends Error {
  override name = "OpsServerError";

  constructor(
    readonly listenAddr: string,
    options: { cause: unknown },
  ) {
    const taken = (options.cause as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
    super(
      `ops server cannot listen on ${listenAddr}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}` +
        (taken ? " (another relay may run here: each process needs its own --server.http.listen-addr)" : ""),
      options,
    );
  }
}
