/** Alloy configuration text for the black-box tests. */
export interface TargetSpec {
  name: string;
  url: string;
  /** Extra attributes or blocks inside `endpoint { ... }`. */
  endpoint?: string;
  /** Extra attributes of the `pyroscope.write` block, e.g. `external_labels`. */
  write?: string;
}

/** One receive_http listener on 127.0.0.1:`port` forwarding to every target. */
export function relayConfig(options: { port: number; targets: TargetSpec[]; http?: string }): string {
  const receivers = options.targets.map((t) => `pyroscope.write.${t.name}.receiver`).join(", ");
  const writes = options.targets.map(
    (t) => `
pyroscope.write "${t.name}" {
  endpoint {
    url = "${t.url}"
${t.endpoint ?? ""}
  }
${t.write ?? ""}
}`,
  );
  return `
pyroscope.receive_http "default" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${options.port}
${options.http ?? ""}
  }
  forward_to = [${receivers}]
}
${writes.join("\n")}
`;
}
