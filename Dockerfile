# Skerry worker/API image. The app runs TypeScript directly through tsx (a runtime dependency),
# so there is no build step: install production dependencies, copy the source.
FROM node:20-slim

ENV NODE_ENV=production \
    APP_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

WORKDIR /app

# patches/: fixes to dependencies applied by patch-package at install (see patches/README.md).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit \
 && npm cache clean --force

COPY . .
# The workflow bundle is built once here, so every worker replica of this image starts fast and runs
# byte-identical workflow code (docs/operations.md). Source stays root-owned (read-only for the
# app); only the data dir is writable.
RUN npm run build:workflows \
 && mkdir -p /app/.data && chown node:node /app/.data
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js

USER node
# API; the worker's metrics (Skerry's and the Temporal SDK's)
EXPOSE 3000 9464 9465
CMD ["npm", "run", "api"]
