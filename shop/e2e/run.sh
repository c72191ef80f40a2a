#!/usr/bin/env bash
# The shop's end-to-end checks, as .ci/run calls them:
#   shop/e2e/run.sh target/debug/boxoffice-shop
# Installs nothing: chromium and chromium-driver come from apt, the Python
# packages from shop/e2e/requirements.txt (in target/e2e-venv when it exists,
# or whatever python3 $E2E_PYTHON names). Screenshots, shop logs and the
# schemathesis report go to target/e2e-artifacts, or $E2E_ARTIFACTS.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 1 ]; then
    echo "usage: $0 PATH/TO/boxoffice-shop [--only browser|api]" >&2
    exit 2
fi
shop_bin="$1"
shift
python="${E2E_PYTHON:-}"
if [ -z "${python}" ]; then
    if [ -x "${here}/../../target/e2e-venv/bin/python" ]; then
        python="${here}/../../target/e2e-venv/bin/python"
    else
        python=python3
    fi
fi
exec "${python}" "${here}/run.py" --shop-bin "${shop_bin}" "$@"
