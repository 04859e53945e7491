# The schemabot GitHub App on its own (a hosted App serving many runners). Build: docker build -t schemabot-app .
# Run: docker run -e APP_ID -e PRIVATE_KEY -e WEBHOOK_SECRET -e SCHEMABOT_RUNNER_TOKEN_PROD -e SCHEMABOT_RUNNER_URL_PROD -p 3000:3000 schemabot-app
FROM node:22-slim
WORKDIR /schemabot
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY runner ./runner
COPY app ./app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LOG_LEVEL=info
EXPOSE 3000
USER node
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "app/main.ts"]
