import { fileURLToPath } from "node:url";

/** The built page, index.html and its assets, which `vite build` writes there (from this file's src/ or dist/). */
export const dashboardDir = fileURLToPath(new URL("../dist/page/", import.meta.url));
