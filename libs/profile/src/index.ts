export { InvalidLabelError, InvalidNameError } from "./errors.js";
export { trimGoSpace } from "./go-space.js";
export { binaryPushObjects, jsonPushObjects, pushObjectLimit } from "./push-objects.js";
export { rewritePushLabels, validatePushLabels } from "./push-labels.js";
export { parseIngestName, rewriteIngestQuery } from "./rewrite-ingest-query.js";
export { RegexpSyntaxError } from "./go-regexp.js";
export {
  compileRelabeling,
  defaultRelabelRule,
  type DroppedProfile,
  relabelActions,
  type RelabelAction,
  type Relabeling,
  type RelabelRule,
  relabelRuleProblem,
  type RelabelStage,
} from "./relabel.js";
