import type { ComponentExports } from "./component-exports.js";
import type { Environment } from "./evaluate.js";

/** What expressions read besides the configuration itself: the standard library's view of this machine. */
export interface Scope {
  env: Environment;
  /** `constants.hostname`, `constants.os`, `constants.arch` and `constants.version`. */
  constants: Readonly<Record<string, string>>;
  /** The exports of the components the relay evaluates; without it every reference stays symbolic. */
  exports?: ComponentExports;
  /** Alloy's ID of the custom component instance whose body is evaluated; absent at the top level. */
  module?: string;
}
