# syntax=docker/dockerfile:1

# Build: the whole workspace, compiled by tsc project references.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN npm run build
# What the runtime needs, laid out as in the repository: every workspace manifest (npm ci checks them
# all against the lock file and links @pyroscope-relay/* to them) and each workspace's compiled dist
# (library code only: specs and their support are type-checked by tsconfig.spec.json, never emitted),
# except the test helpers', which nothing at runtime imports.
RUN mkdir -p /out \
 && cp package.json package-lock.json /out/ \
 && for ws in apps/* libs/* test; do \
      mkdir -p "/out/$ws" && cp "$ws/package.json" "/out/$ws/" \
      && if [ -d "$ws/dist" ] && [ "$ws" != libs/testing ]; then cp -R "$ws/dist" "/out/$ws/"; fi; \
    done \
 && cp -R apps/cli/bin /out/apps/cli/ \
 && find /out -name '*.tsbuildinfo' -delete

# Runtime: production dependencies and compiled code only.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    RELAY_SERVER_HTTP_LISTEN_ADDR=0.0.0.0:12345
WORKDIR /app
COPY --from=build /out/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
 && test -f node_modules/@pyroscope-relay/ops/dist/index.js \
 && test -f apps/dashboard/dist/page/index.html \
 && test -f apps/cli/dist/main.js
USER node
EXPOSE 12345
# Slim images have no curl. The port is read from the environment variable, so change the ops port
# with RELAY_SERVER_HTTP_LISTEN_ADDR rather than the flag if the healthcheck is to follow it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const a = process.env.RELAY_SERVER_HTTP_LISTEN_ADDR ?? ''; const port = a.slice(a.lastIndexOf(':') + 1) || '12345'; fetch('http://127.0.0.1:' + port + '/-/ready', { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
# V8's young generation capped: see "Node's young generation" under Deployment in the README.
ENTRYPOINT ["node", "--max-semi-space-size=16", "apps/cli/dist/main.js"]
