export { InvalidLabelError, InvalidNameError } from "./errors.js";
export { rewritePushLabels, validatePushLabels } from "./push-labels.js";
export { parseIngestName, rewriteIngestQuery } from "./rewrite-ingest-query.js";
