import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { Router } from "express";

/**
 * Only the page's own files, no inline code: what the page shows comes from the admin API of the
 * same origin, and nothing is fetched from elsewhere (it works without internet).
 */
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The dashboard page, apps/dashboard's built files in `dir`, at `/`. They hold no data, so they are
 * served to anyone who reaches the ops server; the admin API the page reads keeps its access rule.
 */
export function serveDashboard(dir: string): Router {
  const router = Router();
  if (!existsSync(join(dir, "index.html"))) {
    router.get("/", (_req, res) => {
      res
        .status(404)
        .type("text/plain")
        .send(`the dashboard is not built (no ${join(dir, "index.html")}): run npm run build\n`);
    });
    return router;
  }
  router.use(
    express.static(dir, {
      setHeaders: (res, path) => {
        res.setHeader("Content-Security-Policy", contentSecurityPolicy);
        res.setHeader("X-Content-Type-Options", "nosniff");
        // Vite names assets by their content hash: they never change; the page itself must be revalidated after an upgrade.
        res.setHeader("Cache-Control", path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable");
      },
    }),
  );
  return router;
}
