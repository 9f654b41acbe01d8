import type { RelayMetrics } from "@pyroscope-relay/ops";

/** A receiver's counters in the process that answers (each ingest replica has its own). */
export interface ReceiverCounters {
  receiver: string;
  receivedProfiles: number;
  rejectedRequests: number;
}

/**
 * `receivers`' counters from this process's metrics, summed over their other labels (API, reason); a
 * receiver that has seen nothing yet counts 0.
 */
export async function readReceiverCounters(metrics: RelayMetrics, receivers: readonly string[]): Promise<ReceiverCounters[]> {
  const [received, rejected] = await Promise.all([
    byComponent(metrics, "pyroscope_relay_received_profiles_total"),
    byComponent(metrics, "pyroscope_relay_rejected_requests_total"),
  ]);
  return receivers.map((receiver) => ({ receiver, receivedProfiles: received.get(receiver) ?? 0, rejectedRequests: rejected.get(receiver) ?? 0 }));
}

async function byComponent(metrics: RelayMetrics, name: string): Promise<Map<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const sums = new Map<string, number>();
  for (const { labels, value } of (await metric.get()).values) {
    const component = String(labels["component"]);
    sums.set(component, (sums.get(component) ?? 0) + value);
  }
  return sums;
}
