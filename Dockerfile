# syntax=docker/dockerfile:1
# TaskTracker Pro production image (docs/deploy/compose.md, docs/deploy/aws-ecs.md).
#   docker build -t tasktracker .
#   docker run -p 3000:3000 -e DATABASE_URL=... -e PUBLIC_ORIGIN=https://... tasktracker
# Migrations only (one-off task before a deploy): the same image with MIGRATE_ONLY=true.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: full dependencies, the same `npm run build` (nuxt build) as CI and tests/e2e -----------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NUXT_TELEMETRY_DISABLED=1
# the whole context (.dockerignore keeps node_modules, .output, .data, tests and docs out):
# npm ci's postinstall (prisma generate, nuxt prepare) reads the schema and the app's sources
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build

# ---- runtime: only the self-contained .output (server bundle, its traced node_modules, migrations
# bundled as server assets, public files), no npm, no sources, not root ----------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
COPY --from=build /app/.output ./.output
# the embedded database and .eml files (PGLITE_DIR, MAIL_DIR) when DATABASE_URL / SMTP_URL are unset
RUN mkdir -p /app/.data && chown node:node /app/.data
# the image's unprivileged `node` user (uid 1000): the code is root-owned and read-only to it
USER node
EXPOSE 3000
# liveness only (no dependencies): slim images have no curl, node's fetch does the probe
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# exec form: node is PID 1 and gets SIGTERM itself (graceful shutdown, docs/operations.md)
STOPSIGNAL SIGTERM
CMD ["node", ".output/server/index.mjs"]
