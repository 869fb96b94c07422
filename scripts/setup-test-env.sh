#!/usr/bin/env bash
# Creates <repo>/.venv with the pinned Python test requirements (tests/sdk/requirements.txt for
# the SDK conformance tests, tests/fuzz/requirements.txt for the schemathesis OpenAPI fuzzing,
# tests/parquet/requirements.txt for pyarrow, the reader of the server's Parquet downloads).
# Idempotent: when the venv already holds exactly these requirements it returns at once.
#   scripts/setup-test-env.sh           set up (or confirm) the environment
#   scripts/setup-test-env.sh --force   rebuild the venv from scratch
# Needs python3 (>= 3.10, the SDK's floor) and a reachable PyPI; nothing else.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
requirements=("$repo/tests/sdk/requirements.txt" "$repo/tests/fuzz/requirements.txt" "$repo/tests/parquet/requirements.txt")
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

if [[ "${1:-}" == "--force" ]]; then
    say "--force: removing $venv"
    rm -rf "$venv"
fi

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$("$python" --version 2>&1) is too old: purecloudplatformclientv2 needs Python >= 3.10"

wanted="$(wanted_stamp)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    say "up to date ($venv matches tests/sdk, tests/fuzz and tests/parquet requirements)"
    exit 0
fi

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

say "installing pinned requirements from tests/sdk, tests/fuzz and tests/parquet"
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
printf '%s\n' "$wanted" >"$stamp"
say "done: $("$venv/bin/python" --version), $("${pip_cmd[@]}" show purecloudplatformclientv2 2>/dev/null | grep -i '^version' || echo 'SDK installed')"
