import { z } from "zod";
import { checkHttpClient, httpClientShape, isHttpUrl } from "./http-client-schema.js";
import { alloyString, duration, optionalBlock, type FileReader } from "./schema-values.js";

const nonEmpty = alloyString.refine((text) => text !== "", { error: "must not be empty" });

/**
 * The arguments of a `remote.kubernetes.secret` or `remote.kubernetes.configmap` component, with
 * Alloy's defaults and checks (`remote/kubernetes` Arguments, `common/kubernetes` ClientArguments).
 */
export function remoteKubernetesSchema(readFile: FileReader) {
  const shape = httpClientShape(readFile);
  const client = z
    .strictObject({
      // "" is unset, as Alloy's URL type takes it.
      api_server: alloyString
        .refine((url) => url === "" || isHttpUrl(url), { error: "must be an absolute http:// or https:// URL" })
        .transform((url) => url || undefined)
        .optional(),
      kubeconfig_file: alloyString.transform((path) => path || undefined).optional(),
      ...shape,
    })
    .superRefine((block, ctx) => {
      const issue = (path: string[], message: string) => ctx.addIssue({ code: "custom", path, message });
      const custom = customHttpSettings(block);
      if (block.api_server !== undefined && block.kubeconfig_file !== undefined) {
        issue(["kubeconfig_file"], "only one of api_server and kubeconfig_file can be set");
      } else if (block.kubeconfig_file !== undefined && custom !== undefined) {
        issue([custom], "custom HTTP client configuration is not allowed when kubeconfig_file is set");
      } else if (block.api_server === undefined && custom !== undefined) {
        issue([custom], "api_server must be set when custom HTTP client configuration is provided");
      }
      checkHttpClient(block, ctx);
    });
  return z.strictObject({
    name: nonEmpty,
    namespace: nonEmpty,
    poll_frequency: duration("1m").refine((ms) => ms > 0, { error: "must be greater than 0" }),
    poll_timeout: duration("15s").refine((ms) => ms > 0, { error: "must be greater than 0" }),
    client: optionalBlock("client", client),
  });
}

export type RemoteKubernetesArguments = z.output<ReturnType<typeof remoteKubernetesSchema>>;

/** The first HTTP client setting that differs from Alloy's defaults, by name; undefined when none does. */
function customHttpSettings(block: Record<string, unknown>): string | undefined {
  const defaults: Record<string, unknown> = { follow_redirects: true, enable_http2: true, proxy_from_environment: false };
  return Object.keys(block).find(
    (name) => name !== "api_server" && name !== "kubeconfig_file" && block[name] !== undefined && block[name] !== (defaults[name] ?? undefined),
  );
}
