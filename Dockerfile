# syntax=docker/dockerfile:1
# Warroom image: `warroom serve` as a non-root user. Build: docker build -t warroom .
# Secrets are not part of the image: pass them as environment variables at run time.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a wheel of Warroom plus wheels of its dependencies ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY migrations ./migrations
COPY incident_templates ./incident_templates
RUN pip wheel --wheel-dir /wheels .

# --- runtime: the installed wheels only, no source tree, no build tools --------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels warroom
RUN groupadd --system --gid 10001 warroom \
    && useradd --system --uid 10001 --gid warroom --home-dir /app --shell /usr/sbin/nologin warroom \
    && mkdir -p /app/data \
    && chown -R warroom:warroom /app
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it. /app/data is writable for a
# single-process SQLite set-up (DATABASE_URL=sqlite+aiosqlite:////app/data/warroom.db).
USER 10001:10001
EXPOSE 8080
# Liveness only (no curl in the slim image). Readiness is /readyz: see docs/deploy.md.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]
ENTRYPOINT ["warroom"]
CMD ["serve", "--host", "0.0.0.0"]
