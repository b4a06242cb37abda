# The signetassure binary: `api`, `worker`, `migrate`, `admin` and `secrets` are its commands (see
# docker-compose.yml and deploy/kubernetes).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/signetassure ./cmd/signetassure
# The folders volumes are mounted on, owned by the image's nonroot user: a new named volume takes the
# owner of the folder it is mounted on, so the secrets service and the evidence packs can write there.
RUN mkdir -p /state/secrets /state/evidence

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/signetassure /signetassure
COPY --from=build --chown=65532:65532 /state /var/lib/signetassure
EXPOSE 8080 8081
ENTRYPOINT ["/signetassure"]
CMD ["api"]
