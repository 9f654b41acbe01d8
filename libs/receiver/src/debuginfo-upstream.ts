/** One POST to the upstream, below its base URL. */
export interface UpstreamRequest {
  /** Path below the target URL's own path, e.g. `/debuginfo.v1alpha1.DebuginfoService/UploadFinished`. */
  path: string;
  header: Headers;
  /** Streamed through as it arrives: an upload is never held in memory. */
  body: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  header: Headers;
  body: AsyncIterable<Uint8Array>;
}

/**
 * Where a receiver passes debuginfo calls through to: the first target it forwards to, as Alloy
 * picks the first endpoint of its first `forward_to` component. Synchronous, like Alloy's proxy:
 * the client's call waits for the target's answer.
 */
export interface DebuginfoUpstream {
  /** The target's name, for logs. */
  readonly name: string;
  /** Bounds `ShouldInitiateUpload` and `UploadFinished` (the target's `remote_timeout`). */
  readonly callTimeoutMs: number;
  /** Bounds an upload, as well as the receiver's own timeout does (the target's `debug_info_upload_timeout`); 0 = none. */
  readonly uploadTimeoutMs: number;
  /** Resolves with the target's answer, whatever its status; rejects when the target cannot be reached. */
  post(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
