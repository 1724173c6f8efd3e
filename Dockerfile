# Helix: one image for every role; HELIX_ROLE picks the plugins a service loads.

# Build stage: dev dependencies, native addons (sqlite3), TypeScript and the dashboard bundle.
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: production dependencies, the compiled app, and the voice tools.
FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates espeak-ng ffmpeg pocketsphinx pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=8080 \
    HELIX_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/flags/bootstrap.json ./flags/bootstrap.json
COPY --from=build --chown=node:node /app/plugins/dashboard/public ./plugins/dashboard/public
# `helix token|migrate|env` on PATH (e.g. `railway ssh`, then `helix token --sub ops --scope admin`);
# it runs the compiled CLI, so the image needs no TypeScript.
RUN mkdir -p /app/data && chown node:node /app/data \
 && chmod +x /app/dist/core/cli/helix.js && ln -s /app/dist/core/cli/helix.js /usr/local/bin/helix
USER node
EXPOSE 8080
# tini forwards SIGTERM to node and reaps children, so graceful shutdown works as PID 1.
ENTRYPOINT ["/usr/bin/tini", "--"]
# The async context frame makes traced requests cheaper (core/telemetry/index.ts); Node 24 has it on by default.
CMD ["node", "--experimental-async-context-frame", "dist/core/main.js"]
