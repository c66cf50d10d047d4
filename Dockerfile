# A small production image: Node 24 LTS, git and bubblewrap, running as a non-root user.
FROM node:24-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends git bubblewrap ca-certificates ripgrep \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Node is the image's own; the `node` devDependency only pins the runtime on machines that lack 24.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY skills ./skills
COPY app.yml ./
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 MISSIONS_DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
# Liveness for Docker itself; orchestrators can also probe /readyz (database and queue).
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "src/main.ts"]
