import type { KubernetesObjectReader } from "./load-config.js";
import type { KubernetesObjectRequest } from "./relay-config.js";

/**
 * The data read last of each object. Alloy's remote.kubernetes.* component keeps its exports when a
 * poll fails, and its dependants keep evaluating with them; so does a reload here: a passing API error
 * neither refuses it nor keeps from the running relay a rotated Secret its poll already read.
 */
export class KubernetesReadMemory {
  private readonly last = new Map<string, Record<string, string>>();

  constructor(private readonly read: KubernetesObjectReader) {}

  /** Reads the object, and remembers its data. */
  readonly fresh: KubernetesObjectReader = async (request) => {
    const data = await this.read(request);
    this.last.set(JSON.stringify(request), data);
    return data;
  };

  /** Reads the object; when that fails, gives its data read last (`onStale` told why), or fails for one never read. */
  orLastRead(onStale: (request: KubernetesObjectRequest, error: unknown) => void): KubernetesObjectReader {
    return async (request) => {
      try {
        return await this.fresh(request);
      } catch (error) {
        const last = this.last.get(JSON.stringify(request));
        if (last === undefined) throw error;
        onStale(request, error);
        return last;
      }
    };
  }
}
