# devex in a container: build the release binary, then run it on a slim
# image as an unprivileged user with the lake on a volume.
#
#   docker build -t devex .
#   docker run --rm -p 8080:8080 -v devex-lake:/lake devex serve --demo --addr 0.0.0.0:8080 --insecure-no-auth
#
# An open bind needs auth: create tokens first (docker run --rm -v
# devex-lake:/lake devex token create --name admin --role admin) or set
# [auth.oidc] in a mounted devex.toml (DEVEX_CONFIG=/etc/devex/devex.toml).
# See docs/deploy.md.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The build cache stays in the image layer's own target folder; the binary
# is copied out so the runtime image gets nothing else.
RUN cargo build --release --locked -p devex-api --bin devex \
 && cp target/release/devex /usr/local/bin/devex

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /lake --shell /usr/sbin/nologin devex \
 && mkdir -p /lake && chown devex /lake
COPY --from=build /usr/local/bin/devex /usr/local/bin/devex
USER 10001
VOLUME /lake
EXPOSE 8080
# The lake on the volume; listen on every address of the container.
ENV DEVEX_LAKE=/lake \
    DEVEX_ADDR=0.0.0.0:8080
ENTRYPOINT ["devex"]
CMD ["serve"]
