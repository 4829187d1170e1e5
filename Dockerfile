# The ledger's image: one static binary (pure Go, SQLite included via
# modernc.org/sqlite), run as a non-root user on a distroless base.
#
#   docker build -t attestation-ledger .                  # the ledger
#   docker build --target nats -t attestation-ledger-nats .  # nats-server, the version go.mod pins
#
# docker-compose.yml builds both.

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -ldflags="-s -w" -o /out/ledger ./cmd/ledger \
 && go build -ldflags="-s -w" -o /out/nats-server github.com/nats-io/nats-server/v2 \
 && mkdir -p /out/data /out/keys /out/jetstream /out/nats-auth \
 && chmod 0700 /out/data /out/keys /out/jetstream

# nats-server, built from the module version go.mod pins (the one the
# tests run), for the cluster of docker-compose.yml.
FROM gcr.io/distroless/static-debian12:nonroot AS nats
COPY --from=build /out/nats-server /usr/local/bin/nats-server
COPY --from=build --chown=65532:65532 /out/jetstream /data
USER 65532:65532
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/local/bin/nats-server"]

# The ledger. /data is the instance's own data dir; /keys the keys dir a
# deployment shares (0700 dirs owned by the non-root user, as the ledger
# requires of keys).
FROM gcr.io/distroless/static-debian12:nonroot AS ledger
COPY --from=build /out/ledger /usr/local/bin/ledger
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/keys /keys
COPY --from=build --chown=65532:65532 /out/nats-auth /nats-auth
USER 65532:65532
ENV LEDGER_DATA_DIR=/data LEDGER_KEYS_DIR=/keys LEDGER_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ledger"]
CMD ["serve"]
