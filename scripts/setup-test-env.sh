#!/usr/bin/env bash
# Installs what the tests outside Rust need, each part idempotent and quick when up to date:
# - <repo>/.venv with the pinned Python test requirements (tests/sdk/requirements.txt for the SDK
#   conformance tests, tests/fuzz/requirements.txt for the schemathesis OpenAPI fuzzing,
#   tests/parquet/requirements.txt for pyarrow, the reader of the server's Parquet downloads,
#   tests/odata/requirements.txt for python-odata, the second OData client,
#   tests/lake/requirements.txt for pyspark and moto's S3 server, the lake's readers and store);
# - Debian's Java 17 runtime, with apt-get, only when there is no `java` (pyspark runs on it);
# - Debian's chromium (/usr/bin/chromium), with apt-get, for the headless status page test;
# - tests/node/node_modules by `npm ci` from tests/node/package-lock.json (@odata/client and
#   @odata/metadata for the OData client test, playwright-core to drive chromium).
#   scripts/setup-test-env.sh           set up (or confirm) the environment
#   scripts/setup-test-env.sh --force   rebuild the venv and node_modules from scratch
# Needs python3 (>= 3.10, the SDK's floor), node (>= 18) with npm, apt-get (as root or with
# sudo) for chromium, and reachable PyPI, npm and Debian registries.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
requirements=("$repo/tests/sdk/requirements.txt" "$repo/tests/fuzz/requirements.txt" "$repo/tests/parquet/requirements.txt" "$repo/tests/odata/requirements.txt" "$repo/tests/lake/requirements.txt")
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

say() { printf 'setup-test-env: %s\n' "$*"; }
die() { printf 'setup-test-env: error: %s\n' "$*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "$python not found; install Python 3.10+ (Debian: apt-get install python3)"
for file in "${requirements[@]}"; do
    [[ -f "$file" ]] || die "missing $file"
done

# The stamp covers the requirements and the interpreter, so a new Python also triggers a rebuild.
wanted_stamp() {
    { "$python" -c 'import sys; print(sys.version)'; cat "${requirements[@]}"; } | sha256sum | cut -d' ' -f1
}

force=""
if [[ "${1:-}" == "--force" ]]; then
    force=1
    say "--force: removing $venv"
    rm -rf "$venv"
fi

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$("$python" --version 2>&1) is too old: purecloudplatformclientv2 needs Python >= 3.10"

wanted="$(wanted_stamp)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    say "venv up to date ($venv matches tests/sdk, tests/fuzz, tests/parquet, tests/odata and tests/lake requirements)"
else
    # Debian's python3 lacks ensurepip unless python3-venv is installed; then the venv is made
    # without pip and the system pip installs into it (pip >= 22.3 knows --python).
    pip_cmd=()
    if [[ ! -x "$venv/bin/python" ]]; then
        say "creating virtual environment $venv"
        if "$python" -m venv "$venv" >/dev/null 2>&1; then
            :
        else
            rm -rf "$venv"
            say "python3 -m venv failed (no ensurepip?); retrying without pip"
            "$python" -m venv --without-pip "$venv" \
                || die "cannot create a venv; on Debian: apt-get install python3-venv"
        fi
    fi
    if [[ -x "$venv/bin/pip" ]]; then
        pip_cmd=("$venv/bin/python" -m pip)
    else
        "$python" -m pip --version >/dev/null 2>&1 \
            || die "the venv has no pip and neither has $python; on Debian: apt-get install python3-venv python3-pip"
        pip_cmd=("$python" -m pip --python "$venv/bin/python")
    fi

    say "installing pinned requirements from tests/sdk, tests/fuzz, tests/parquet, tests/odata and tests/lake"
    requirement_args=()
    for file in "${requirements[@]}"; do
        requirement_args+=(-r "$file")
    done
    "${pip_cmd[@]}" install --disable-pip-version-check --no-input --quiet "${requirement_args[@]}"
    "$venv/bin/python" -c 'import PureCloudPlatformClientV2' \
        || die "the SDK does not import after installation"
    "$venv/bin/schemathesis" --version >/dev/null \
        || die "schemathesis does not run after installation"
    "$venv/bin/python" -c 'import pyarrow.parquet' \
        || die "pyarrow.parquet does not import after installation"
    "$venv/bin/python" -c 'import pyspark, moto' \
        || die "pyspark or moto does not import after installation"
    "$venv/bin/python" -c 'from odata import ODataService' \
        || die "python-odata does not import after installation"
    printf '%s\n' "$wanted" >"$stamp"
    say "done: $("$venv/bin/python" --version), $("${pip_cmd[@]}" show purecloudplatformclientv2 2>/dev/null | grep -i '^version' || echo 'SDK installed')"
fi

# Debian's chromium, for the headless status page test (tests/node/status_page.mjs drives it
# with playwright-core; playwright's own browser download cannot work on a closed network).
chromium=/usr/bin/chromium
if [[ -x "$chromium" ]]; then
    say "chromium present ($("$chromium" --version 2>/dev/null || echo "$chromium"))"
else
    command -v apt-get >/dev/null 2>&1 \
        || die "$chromium is missing and there is no apt-get to install it; install Chromium so that $chromium exists"
    as_root=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 \
            || die "$chromium is missing; installing it needs root: run this script as root or install sudo"
        # No password prompt without a terminal (CI): fail instead of hanging.
        if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
    fi
    chromium_started=$SECONDS
    apt_get() { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
    updated=""
    # The package lists are fetched only when they do not offer chromium yet (a fresh image).
    # (Read into a variable first: `apt-cache ... | grep -q` fails under pipefail on SIGPIPE.)
    policy="$(apt-cache policy chromium 2>/dev/null || true)"
    if [[ ! "$policy" =~ Candidate:\ [0-9] ]]; then
        say "apt-get update (the package lists do not offer chromium yet)"
        apt_get update -q >/dev/null || die "apt-get update failed; cannot install chromium"
        updated=1
    fi
    say "installing Debian's chromium with apt-get"
    if ! apt_get install -y -q --no-install-recommends chromium >/dev/null; then
        # Stale lists name files the mirror no longer has: refresh once and retry.
        [[ -z "$updated" ]] || die "apt-get install chromium failed (see above)"
        say "apt-get install failed; refreshing the package lists and retrying"
        apt_get update -q >/dev/null || die "apt-get update failed; cannot install chromium"
        apt_get install -y -q --no-install-recommends chromium >/dev/null \
            || die "apt-get install chromium failed (see above)"
    fi
    [[ -x "$chromium" ]] || die "the chromium package did not provide $chromium"
    say "installed $("$chromium" --version 2>/dev/null || echo chromium) in $((SECONDS - chromium_started)) s"
fi

# Java for pyspark (the lake's Spark reader): Debian's Java 17 runtime, only when no `java` is
# on the PATH (any Java 17+ will do).
if command -v java >/dev/null 2>&1; then
    say "java present ($(java -version 2>&1 | head -n 1))"
else
    command -v apt-get >/dev/null 2>&1 \
        || die "java is missing and there is no apt-get to install it; install a Java 17+ runtime"
    java_root=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 \
            || die "java is missing; installing it needs root: run this script as root or install sudo"
        if [[ -t 0 ]]; then java_root=(sudo); else java_root=(sudo -n); fi
    fi
    java_started=$SECONDS
    say "installing Debian's openjdk-17-jre-headless with apt-get"
    java_get() { "${java_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
    if ! java_get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null; then
        say "apt-get install failed; refreshing the package lists and retrying"
        java_get update -q >/dev/null || die "apt-get update failed; cannot install java"
        java_get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null \
            || die "apt-get install openjdk-17-jre-headless failed (see above)"
    fi
    command -v java >/dev/null 2>&1 || die "openjdk-17-jre-headless did not provide java"
    say "installed $(java -version 2>&1 | head -n 1) in $((SECONDS - java_started)) s"
fi

# tests/node/node_modules from the committed package-lock.json (`npm ci`: exactly the locked
# versions). A stamp in node_modules records the lock file and node version it was made from.
node_dir="$repo/tests/node"
node_stamp="$node_dir/node_modules/.package-lock.sha256"
command -v node >/dev/null 2>&1 || die "node not found; install Node.js 18+ (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found; install npm (Debian: apt-get install npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" =~ ^[0-9]+$ && "$node_major" -ge 18 ]] \
    || die "node $(node --version) is too old: tests/node needs Node.js >= 18"
[[ -f "$node_dir/package-lock.json" ]] || die "missing $node_dir/package-lock.json"
node_wanted="$({ node --version; cat "$node_dir/package-lock.json"; } | sha256sum | cut -d' ' -f1)"
if [[ -n "$force" ]]; then
    say "--force: removing $node_dir/node_modules"
    rm -rf "$node_dir/node_modules"
fi
if [[ -d "$node_dir/node_modules" && -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_wanted" ]]; then
    say "node_modules up to date (tests/node/package-lock.json, node $(node --version))"
else
    say "npm ci in tests/node (node $(node --version), npm $(npm --version))"
    npm_started=$SECONDS
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) \
        || die "npm ci failed in $node_dir"
    printf '%s\n' "$node_wanted" >"$node_stamp"
    say "npm ci done in $((SECONDS - npm_started)) s"
fi

say "ready: .venv, $chromium, java, tests/node/node_modules"
