# syntax=docker/dockerfile:1
# Label Loop: one image for the API and the worker (the command picks the role; see
# docker-compose.yml). Not built on our CI machines (no Docker engine there): its structure is
# checked by test/unit/dockerCompose.test.ts and its build steps are run outside Docker (README).
#
# Why TypeScript runs through `tsx` instead of being compiled: tsx (a runtime dependency) strips
# types per file with esbuild when a module is first imported, a few hundred milliseconds once per
# process, and the code then runs exactly as in development and tests, with paths such as
# REPO_ROOT and the migrations directory resolved from the source tree. The expensive start-up
# step was webpack bundling the workflow code in every worker; that now happens once, below.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# --- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# @tensorflow/tfjs-node is an optional dependency: used where its libtensorflow download works,
# otherwise the wasm backend is used (see model/backend.ts).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- build: all dependencies, the workflow bundle -----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# bundleWorkflowCode at build time; the worker loads it through LABEL_LOOP_WORKFLOW_BUNDLE.
RUN node --import tsx worker/bundleWorkflows.ts /app/dist/workflow-bundle.js

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to Node (graceful worker shutdown) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    LABEL_LOOP_HOST=0.0.0.0 \
    LABEL_LOOP_PORT=9090 \
    LABEL_LOOP_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY activities ./activities
COPY api ./api
COPY cli ./cli
COPY contract ./contract
COPY dataset ./dataset
COPY policies ./policies
COPY bin ./bin
COPY demo ./demo
COPY infra ./infra
COPY labelstudio ./labelstudio
COPY model ./model
COPY store ./store
COPY worker ./worker
COPY workflows ./workflows
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# The image's own unprivileged user (uid 1000); the code is root-owned and read-only to it.
USER node
EXPOSE 9090
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "cli/main.ts", "api"]
# For the API (the default command); the worker service in docker-compose.yml disables it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LABEL_LOOP_PORT || 9090) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
