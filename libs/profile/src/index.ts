export { InvalidLabelError, InvalidNameError } from "./errors.js";
export { trimGoSpace } from "./go-space.js";
export { binaryPushObjects, jsonPushObjects, pushObjectLimit } from "./push-objects.js";
export { rewritePushLabels, validatePushLabels } from "./push-labels.js";
export { parseIngestName, rewriteIngestQuery } from "./rewrite-ingest-query.js";
