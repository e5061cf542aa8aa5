# syntax=docker/dockerfile:1

# --- build: install the package and its runtime dependencies into a venv
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY pyproject.toml README.md ./
COPY alembic/ alembic/
COPY src/ src/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install .

# --- runtime
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ORDERS_HOST=0.0.0.0 \
    ORDERS_PORT=8000

RUN groupadd --system --gid 10001 orders \
    && useradd --system --uid 10001 --gid orders --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin orders

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# `orders-cqrs migrate` looks for alembic/ in the working directory.
COPY alembic/ alembic/

USER orders
EXPOSE 8000
CMD ["orders-cqrs", "api"]
