# syntax=docker/dockerfile:1
# The pdp-server container image (docs/deploy.md). Two stages:
#   build    Debian 12 with the toolchain (tools/setup.sh), builds -c opt;
#   runtime  debian:12-slim with only the shared libraries the binaries load,
#            running as an unprivileged user.
#
#   docker build -t pdp-server .
#   docker run --rm pdp-server --help
#
# //tests/deploy:dockerfile_test checks that every binary copied from the
# build stage is one `bazel build` produces, and that the runtime packages
# provide every shared library those binaries need.

FROM debian:12 AS build
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends ca-certificates
WORKDIR /src
COPY tools/setup.sh tools/setup.sh
RUN tools/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bazel build -c opt //pdp/server:server //tools/pdpctl:pdpctl \
 && mkdir -p /out \
 && cp -L --parents bazel-bin/pdp/server/server bazel-bin/tools/pdpctl/pdpctl /out/

FROM debian:12-slim AS runtime
# The shared libraries of the two binaries (their dependencies come along).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libabsl20220623 \
      libc-ares2 \
      libgrpc++1.51 \
      libgrpc29 \
      libprotobuf32 \
      libre2-9 \
      librocksdb7.8 \
      libssl3 \
      libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 pdp \
 && useradd --system --uid 10001 --gid pdp --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pdp \
 && mkdir -p /var/lib/pdp /etc/pdp \
 && chown pdp:pdp /var/lib/pdp
COPY --from=build /out/bazel-bin/pdp/server/server /usr/local/bin/pdp-server
COPY --from=build /out/bazel-bin/tools/pdpctl/pdpctl /usr/local/bin/pdpctl
USER 10001:10001
WORKDIR /var/lib/pdp
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/pdp-server"]
CMD ["--config", "/etc/pdp/config/config.yaml"]
