#!/usr/bin/env bash
# Installs everything the test suite needs and runs it:
#   PostgreSQL, Redis, Prometheus and Alertmanager binaries (apt-get, when missing and root; otherwise exit 2
#   saying what to install),
#   the locked versions of every dependency (requirements-test.txt, made by scripts/lock.sh) and the package
#   itself, editable, in a virtual environment of its own (./.venv), then ruff, import-linter, mypy and pytest.
# The locked run is what CI runs and what decides whether a change lands.
#   bash scripts/test.sh --latest [PYTEST ARGS]   the same suite on the newest releases the ranges in pyproject.toml
#                                                 allow, in ./.venv-latest: it shows what a new release breaks
#                                                 before users meet it; it informs, it does not gate.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [[ ${1:-} == --latest ]]; then
  venv=.venv-latest
  shift
fi

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

python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
if [[ $venv == .venv ]]; then
  "${pip[@]}" --require-hashes -r requirements-test.txt
  "${pip[@]}" --no-deps --no-build-isolation -e .
else
  "${pip[@]}" --upgrade --upgrade-strategy eager -e '.[test]'
  "$venv/bin/python" -m pip list --format=freeze --disable-pip-version-check | sed 's/^/  /'
fi
"$venv/bin/ruff" check .
"$venv/bin/lint-imports"
"$venv/bin/mypy" console actions widgets themes
exec "$venv/bin/pytest" -q -p no:cacheprovider "$@"
