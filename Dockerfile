# sluice in a container: a static binary (no cgo: the SQLite driver is pure
# Go) on a small base, run as a non-root user, its data dir a volume.
#   docker build -t sluice .
#   docker run -p 7070:7070 -v sluice-data:/data sluice
# The first start prints the Admin client's credentials once (docker logs),
# unless SLUICE_ADMIN_CLIENT_ID / SLUICE_ADMIN_CLIENT_SECRET are given.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/sluice-run/sluice/internal/cli.Version=${VERSION}" \
      -o /out/sluice ./cmd/sluice

FROM alpine:3.22
RUN addgroup -S -g 10001 sluice && adduser -S -D -H -u 10001 -G sluice sluice \
 && mkdir /data && chown sluice:sluice /data && chmod 0700 /data
COPY --from=build /out/sluice /usr/local/bin/sluice
USER sluice
VOLUME /data
EXPOSE 7070
# Every serve flag is also a SLUICE_* variable (docs/configuration.md).
ENV SLUICE_ADDR=0.0.0.0:7070 SLUICE_DATA_DIR=/data SLUICE_LOG_FORMAT=json
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD wget -qO- http://127.0.0.1:7070/healthz >/dev/null || exit 1
# Graceful stop: serve finishes node executions in flight on SIGTERM
# (--shutdown-grace, 10s by default; give docker stop -t more than that).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["serve"]
