#!/usr/bin/env bash
# Installs everything the test suite needs and runs it:
#   PostgreSQL, Redis, Prometheus and Alertmanager binaries (apt-get, when missing and root; otherwise exit 2
#   saying what to install),
#   the package with its test extra in ./.venv, then ruff, import-linter and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg() { command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_prometheus() { command -v prometheus >/dev/null 2>&1; }
have_alertmanager() { command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; }

missing=()
have_pg || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_prometheus || missing+=(prometheus)
have_alertmanager || missing+=(prometheus-alertmanager)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "scripts/test.sh: missing server binaries: install them first: sudo apt-get install ${missing[*]}" >&2
    exit 2
  fi
  echo "scripts/test.sh: installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
.venv/bin/lint-imports
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
