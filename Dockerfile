# syntax=docker/dockerfile:1
# Atrium API image: build with dev dependencies, ship only production ones, run as a non-root user.
#   docker build -t atrium-api .                                  # no browser: format=pdf answers 503 PDF_UNAVAILABLE
#   docker build --build-arg INSTALL_CHROMIUM=true -t atrium-api . # + Debian's chromium at /usr/bin/chromium: PDFs work
# docker-compose.yml builds with INSTALL_CHROMIUM=true (and sets CHROMIUM_PATH=/usr/bin/chromium); the startup log
# says which ("PDF rendering available" / "unavailable").
ARG NODE_IMAGE=node:24-slim

# ── build ────────────────────────────────────────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
# npm run build ends in `node scripts/copy-assets.js`
COPY scripts ./scripts
# tsc emits only JavaScript: copy the non-TypeScript files the code reads at run time (e.g. the bundled
# sample buildings JSON) next to the compiled files, then drop the dev dependencies.
# test/deploy/dockerfile-build.e2e-spec.ts replays this stage and runs the runtime stage's CMD from it.
RUN npm run build \
 && find apps libs -path '*/src/*' -type f ! -name '*.ts' \
      -exec sh -c 'mkdir -p "dist/$(dirname "$1")" && cp "$1" "dist/$1"' _ {} \; \
 && npm prune --omit=dev

# ── runtime ──────────────────────────────────────────────────────────────────────────────────────
FROM ${NODE_IMAGE} AS runtime
ARG INSTALL_CHROMIUM=false
RUN if [ "$INSTALL_CHROMIUM" = "true" ]; then \
      apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation \
      && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    LOG_FORMAT=json \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's files stay owned by root (read-only for the app); only DATA_DIR is writable.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# "node" (uid 1000) is the unprivileged user of the official Node images.
USER node
EXPOSE 3000
# node:24-slim has no curl: probe liveness with Node's fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM directly (graceful shutdown, SHUTDOWN_TIMEOUT_MS).
CMD ["node", "dist/apps/api/src/main.js"]
