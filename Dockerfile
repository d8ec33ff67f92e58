# One image for every role: the entry point is `velocity-stream`; the compose file picks the
# command (gateway, consume client360, consume committer, serve, topics apply, ...).
FROM python:3.11-slim AS build
# A C compiler for the native extensions (the Avro writer and reader in velocity_stream/serde/,
# the NUL check in velocity_stream/contracts/); the wheel carries them built, so the runtime
# image needs none.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY velocity_stream ./velocity_stream
COPY consumers ./consumers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VELOCITY_SCHEMAS_DIR=/app/avro_schemas
RUN useradd --create-home --uid 10001 velocity
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY avro_schemas ./avro_schemas
USER velocity
ENTRYPOINT ["velocity-stream"]
CMD ["--help"]
