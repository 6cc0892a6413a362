#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine needs to build and test this project.
# Idempotent: safe to run again.
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-java
  build-essential
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  libprotobuf-dev protobuf-compiler
  libabsl-dev
  librocksdb-dev
  libssl-dev openssl
  libyaml-cpp-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-grpcio python3-protobuf
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
(cd "$(dirname "$0")/../gateway" && npm ci --no-audit --no-fund)  # The MCP gateway's packages, from its lockfile.
