# Label Loop: one image for the API and the worker (the command picks the role).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# tfjs-node is optional: where its libtensorflow download works it is used, else wasm/cpu.
RUN npm ci --no-audit --no-fund
COPY . .
ENV LABEL_LOOP_HOST=0.0.0.0 LABEL_LOOP_PORT=9090
EXPOSE 9090
CMD ["node", "--import", "tsx", "worker/main.ts", "api"]
