export { InvalidLabelError, InvalidNameError } from "./errors.js";
export { formatName } from "./format-name.js";
export { isValidLabelName } from "./label-name.js";
export { labelLimits } from "./label-limits.js";
export { appLabel, withExternalLabels, withServiceName, type LabelSet } from "./label-set.js";
export { parseName, type ParsedName } from "./parse-name.js";
export { rewritePushLabels, validatePushLabels, type LabelPair } from "./push-labels.js";
export { parseIngestName, rewriteIngestQuery } from "./rewrite-ingest-query.js";
