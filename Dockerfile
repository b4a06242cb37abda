# The signetassure binary: `api`, `worker` and `migrate` are its commands (see docker-compose.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/signetassure ./cmd/signetassure

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/signetassure /signetassure
EXPOSE 8080
ENTRYPOINT ["/signetassure"]
CMD ["api"]
