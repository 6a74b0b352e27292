# One image for every role: arena serve, arena worker, arena migrate.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/arena ./cmd/arena

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/arena --create-home arena
COPY --from=build /out/arena /usr/local/bin/arena
USER arena
WORKDIR /var/lib/arena
EXPOSE 8080
ENTRYPOINT ["arena"]
CMD ["serve"]
