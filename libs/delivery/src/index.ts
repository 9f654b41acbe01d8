export { startWriter } from "./writer.js";
export type { Writer } from "./writer.js";
export { debuginfoUpstream } from "./debuginfo-upstream.js";
export { readKubernetesObject, KubernetesReadError } from "./kubernetes-api.js";
export type { KubernetesReadOptions } from "./kubernetes-api.js";
export { KubeconfigError } from "./kubeconfig.js";
