#!/usr/bin/env bash
# Runs every check and test, as CI does: installs what the tests need (a Python venv with the
# official Genesys SDK and schemathesis under .venv, Debian's chromium, tests/node's npm
# packages), then fmt, clippy and the whole test suite, with one throwaway PostgreSQL server
# for the run (scripts/postgres.sh) that the PostgreSQL tests make their schemas on.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n==> %s\n' "$*"; }

step "Test environment (Python venv, chromium, tests/node npm packages)"
scripts/setup-test-env.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (the binary the CLI tests run)"
cargo build --workspace --locked

step "S3 server for the lake tests (moto, once per run)"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

step "cargo test (every crate, every test; one throwaway PostgreSQL server for the run)"
scripts/postgres.sh cargo test --workspace --locked --no-fail-fast
