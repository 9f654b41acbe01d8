export { createAdminRouter } from "./admin-router.js";
export type { AdminRouterOptions } from "./admin-router.js";
export { adminAccess, isLoopback } from "./admin-access.js";
export type { AdminAccessOptions } from "./admin-access.js";
export { serveDashboard } from "./dashboard-files.js";
