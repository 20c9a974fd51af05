# syntax=docker/dockerfile:1
# Signoff gateway image: the gRPC API on 50051, Prometheus metrics on 9464, SQLite under /data.
#
#   docker build -t signoff .
#   docker run -p 50051:50051 -p 9464:9464 -v signoff-data:/data signoff
#
# The image ships the DEVELOPMENT principals file (config/dev-principals.yaml, public tokens).
# In production mount your own and point at it:
#   -v /etc/signoff:/etc/signoff:ro -e SIGNOFF_PRINCIPALS=/etc/signoff/principals.yaml
# Policies: mount a directory and set SIGNOFF_POLICIES. PostgreSQL: pass --db
# postgresql+psycopg://... (needs the image built with --build-arg EXTRAS=postgres).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: install the project and its runtime dependencies into a self-contained venv ----
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY audit ./audit
COPY gateway ./gateway
COPY signoff ./signoff
# Not editable, no dev extras: the venv holds a plain install and nothing points back at /src.
RUN pip install --no-cache-dir "/src${EXTRAS:+[$EXTRAS]}" \
    && python -c "import gateway.cli, signoff.v1.decision_pb2_grpc, grpc_health.v1.health_pb2"

# -- runtime: the venv, the shipped policies, and an unprivileged user ----------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="signoff" \
      org.opencontainers.image.description="Human-in-the-loop governance gateway" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIGNOFF_POLICIES=/app/policies \
    SIGNOFF_PRINCIPALS=/app/config/dev-principals.yaml
RUN groupadd --system --gid 10001 signoff \
    && useradd --system --uid 10001 --gid signoff --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin signoff \
    && mkdir -p /data \
    && chown signoff:signoff /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only to the service: it reads policies, it never writes them.
COPY policies ./policies
COPY config ./config
VOLUME ["/data"]
USER 10001:10001
EXPOSE 50051 9464
# Plaintext gRPC health check against the local port; with TLS configured, override it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, grpc; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; r = g.HealthStub(grpc.insecure_channel('127.0.0.1:50051')).Check(h.HealthCheckRequest(), timeout=4); sys.exit(0 if r.status == h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["signoff"]
CMD ["serve", "--address", "0.0.0.0:50051", "--db", "sqlite:////data/signoff.db", \
     "--metrics-port", "9464", "--metrics-address", "0.0.0.0", \
     "--signing-key", "/data/keys/checkpoint.key", "--init-signing-key", "--checkpoints-dir", "/data/checkpoints"]
