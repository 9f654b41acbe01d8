import { describeReceiver, inInstance } from "./component-id.js";
import { describeLocation, diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import type { ReceiveHttpComponent } from "./receive-http-schema.js";
import type { Forwarding } from "./forwarding.js";
import type { ReceiverConfig } from "./relay-config.js";
import type { Located } from "./targets.js";

/** A receive_http component, validated; `instance` is Alloy's ID of the custom component instance it runs in, if any. */
export type LocatedReceiver = Located<ReceiveHttpComponent> & { instance?: string };

/** Addresses that bind every interface, and so clash with any address on the same port. */
const wildcardAddresses = new Set(["", "0.0.0.0", "::", "[::]"]);

function addressesOverlap(a: string, b: string): boolean {
  const normalize = (address: string) => address.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return wildcardAddresses.has(a) || wildcardAddresses.has(b) || normalize(a) === normalize(b);
}

/**
 * Resolves each receiver's `forward_to` to the write components it reaches (`forwarding`, by label,
 * to their target names) and checks that no two receivers listen on the same port and address.
 * Problems are appended to `diagnostics`.
 */
export function buildReceivers(
  receives: readonly LocatedReceiver[],
  targetsByWrite: ReadonlyMap<string, readonly string[]>,
  forwarding: Forwarding,
  diagnostics: Diagnostic[],
): ReceiverConfig[] {
  const receivers: ReceiverConfig[] = [];
  const listening: Array<{ label: string; file: string; pos: Position; address: string; port: number }> = [];
  for (const { label, instance, file, pos, value, locations } of receives) {
    const report = (at: Position, message: string) => diagnostics.push(inInstance(instance, diagnosticAt(file, at, message)));
    const forwardTo = new Set<string>();
    let problems = false;
    value.forward_to.forEach((reference, item) => {
      const path = ["forward_to", item];
      const reportItem = (message: string) => report(locations.nearest(path).pos, `${locations.label(path)}: ${message}`);
      const followed = forwarding.follow(label, reference, reportItem);
      for (const write of followed.writes) forwardTo.add(write);
      problems ||= followed.problems;
    });
    // Alloy would take the profiles and drop them all; the relay refuses it, as an empty forward_to.
    if (forwardTo.size === 0 && !problems) {
      report(locations.nearest(["forward_to"]).pos, "forward_to: reaches no pyroscope.write: the pyroscope.relabel components it names forward to none");
    }

    const { http } = value;
    // Port 0 asks the system for a free port, so it never clashes.
    const clash = listening.find((other) => http.listen_port !== 0 && other.port === http.listen_port && addressesOverlap(other.address, http.listen_address));
    if (clash) {
      const message = `port ${http.listen_port} is already used by ${describeReceiver(clash.label)} (defined at ${describeLocation(clash.file, clash.pos, file)})`;
      report(locations.nearest(["http", 0, "listen_port"]).pos, message);
    }
    listening.push({ label, file, pos, address: http.listen_address, port: http.listen_port });

    receivers.push({
      label,
      listenAddress: http.listen_address,
      listenPort: http.listen_port,
      connLimit: http.conn_limit,
      readTimeoutMs: http.server_read_timeout,
      writeTimeoutMs: http.server_write_timeout,
      idleTimeoutMs: http.server_idle_timeout,
      forwardTo: [...forwardTo],
      targets: [...new Set([...forwardTo].flatMap((write) => targetsByWrite.get(write) ?? []))],
      ...(http.tls ? { tls: http.tls } : {}),
      http2: http.http2,
      http2DisabledIgnored: http.http2DisabledIgnored,
      gracefulShutdownTimeoutMs: value.graceful_shutdown_timeout,
      debugInfoUploadTimeoutMs: value.debug_info_upload_timeout,
      grpcBlockIgnored: value.grpc !== undefined,
    });
  }
  return receivers;
}
