# Skerry worker/API image. The app runs TypeScript directly through tsx (a runtime dependency),
# so there is no build step: install production dependencies, copy the source.
FROM node:20-slim

ENV NODE_ENV=production \
    APP_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit \
 && npm cache clean --force

COPY . .
# Source stays root-owned (read-only for the app); only the data dir is writable.
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
EXPOSE 3000
CMD ["npm", "run", "api"]
