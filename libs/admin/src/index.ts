export { createAdminRouter } from "./admin-router.js";
export { isLoopback } from "./admin-access.js";
export { serveDashboard } from "./dashboard-files.js";
export { describeRequestError, purgeRequest, replayRequest } from "./operator-requests.js";
export { AdminGate } from "./admin-gate.js";
export { ReloadError, reloadFailureStatus } from "./reload-error.js";
