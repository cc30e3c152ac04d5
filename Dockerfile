# The escrow agent's image (docs/deployment.md). Two stages: `build` compiles the TypeScript (dev dependencies,
# C++ tools for better-sqlite3), `runtime` carries only dist/, the migrations and the production dependencies, and
# runs as the unprivileged `node` user with its data folder (keys, SQLite, the sandbox's nodes) in the volume /data.
#
#   docker build -t escrow-agent .
#   docker run -v escrow-data:/data -e NOSTR_RELAYS=wss://relay.example escrow-agent
#
# The configuration is /etc/escrow-agent/escrow-agent.toml (ESCROW_CONFIG): data in /data, no embedded relay,
# /health and /metrics on 0.0.0.0:8080 inside the container. Mount your own file there (keep http.host = "0.0.0.0")
# or override keys with the environment variables of docs/configuration.md.

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles its native module when no prebuilt binary can be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts only where they are needed (the native SQLite module, esbuild's binary check); `prepare` (the
# build) runs below, once the sources are here.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY drizzle ./drizzle
COPY scripts/build-page.mjs scripts/build-verify-page.mjs scripts/build-board-page.mjs ./scripts/
COPY src ./src
# dist/ (the CLI, dist/verify.html and dist/board.html), then drop the dev dependencies: the compiled CLI needs none of them
# (test/ops/deployment.test.ts checks that dist/ imports only production dependencies).
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
  ESCROW_CONFIG=/etc/escrow-agent/escrow-agent.toml
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/drizzle ./drizzle
COPY --from=build /app/dist ./dist
# bin/escrow-agent.js runs dist/ when its stamp (dist/.built) is newer than everything in src/; the image carries
# no sources, so src/ is an empty folder made before the stamp is renewed.
RUN mkdir src && touch dist/.built \
  && ln -s /app/bin/escrow-agent.js /usr/local/bin/escrow-agent \
  && mkdir -p /data /etc/escrow-agent \
  && chown node:node /data \
  && printf '%s\n' \
    '# The image'"'"'s configuration (ESCROW_CONFIG). Environment variables override it (docs/configuration.md).' \
    '[agent]' \
    'data_dir = "/data"' \
    '' \
    '[nostr]' \
    '# NOSTR_RELAYS (comma-separated) overrides this file.' \
    'relays_file = "/data/relays.json"' \
    'embedded_relay = "off"' \
    '' \
    '[http]' \
    '# /health and /metrics: every interface of the container; publish the port on 127.0.0.1 only.' \
    'host = "0.0.0.0"' \
    'port = 8080' \
    > /etc/escrow-agent/escrow-agent.toml
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the slim image: Node's fetch asks /health (200 when every check holds, 503 naming the failing ones), on
# HTTP_PORT when it is set, else the configuration's 8080.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/escrow-agent.js"]
CMD ["start"]
