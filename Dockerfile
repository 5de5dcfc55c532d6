# syntax=docker/dockerfile:1.7
# Multi-stage: build wheels with the compiler, run on a slim image as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip wheel
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SETTLECHECK_ENVIRONMENT=production
RUN groupadd --system settlecheck && useradd --system --gid settlecheck --home /app settlecheck
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Migrations run from the image: `settlecheck db upgrade` (an init container or a release job).
COPY alembic.ini ./
COPY alembic ./alembic
COPY service ./service
USER settlecheck
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["settlecheck", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
