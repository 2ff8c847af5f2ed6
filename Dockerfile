# The Fenghuo API (and scheduler) image. Deployments point it at a Neo4j server (FENGHUO_NEO4J_URI),
# so the image needs no Java: the embedded launcher is for development and tests only.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FENGHUO_DATA_DIR=/var/lib/fenghuo
WORKDIR /app
COPY pyproject.toml README.md schema.graphql ./
COPY api ./api
COPY core ./core
COPY graph ./graph
COPY ingest ./ingest
COPY federation ./federation
COPY access ./access
COPY audit ./audit
COPY check ./check
COPY escalation ./escalation
COPY jobs ./jobs
COPY networks ./networks
COPY leads ./leads
COPY indicators ./indicators
COPY psi ./psi
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/fenghuo fenghuo \
    && mkdir -p /var/lib/fenghuo && chown fenghuo /var/lib/fenghuo
USER fenghuo
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["fenghuo", "serve", "--host", "0.0.0.0", "--port", "8000"]
