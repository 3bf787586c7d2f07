#!/usr/bin/env bash
# Validate (and optionally build) the SAM template offline.
#
#   infra/sam/validate.sh           cfn-lint + sam validate --lint
#   infra/sam/validate.sh --build   ... then sam build
#
# aws-sam-cli lives in its own venv (.tools/sam-venv) because it pins its own boto3.
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SAM_VENV="${REPO_ROOT}/.tools/sam-venv"
SAM="${SAM_VENV}/bin/sam"

build=false
for arg in "$@"; do
  case "${arg}" in
    --build) build=true ;;
    -h|--help) sed -n 2,7p "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: ${arg}" >&2; exit 2 ;;
  esac
done

cd "${REPO_ROOT}"

if [[ ! -x "${SAM}" ]] || ! "${SAM}" --version 2>/dev/null | grep -q "${SAM_CLI_VERSION}"; then
  echo "==> installing aws-sam-cli ${SAM_CLI_VERSION} into ${SAM_VENV}"
  python3 -m venv "${SAM_VENV}"
  "${SAM_VENV}/bin/pip" install --quiet --upgrade pip
  "${SAM_VENV}/bin/pip" install --quiet "aws-sam-cli==${SAM_CLI_VERSION}"
fi

# SAM reads telemetry/config from the environment; keep it quiet and offline-friendly.
export SAM_CLI_TELEMETRY=0

echo "==> cfn-lint template.yaml"
"${REPO_ROOT}/.venv/bin/cfn-lint" template.yaml

echo "==> sam validate --lint"
"${SAM}" validate --lint --region us-east-1

if [[ "${build}" == true ]]; then
  # The functions run on python3.13: sam build needs a python3.13 on PATH.
  if ! command -v python3.13 >/dev/null 2>&1 || ! python3.13 --version >/dev/null 2>&1; then
    if command -v pyenv >/dev/null 2>&1 && pyenv versions --bare | grep -qx "3.13.0"; then
      # Keep the default interpreter first and add 3.13 for sam's runtime check.
      export PYENV_VERSION="$(pyenv version-name | cut -d: -f1):3.13.0"
    else
      echo "error: sam build needs python3.13 on PATH (runtime python3.13)." >&2
      echo "       Install it (e.g. 'pyenv install 3.13.0') and retry." >&2
      exit 1
    fi
  fi
  echo "==> sam build (python3.13: $(python3.13 --version 2>&1))"
  "${SAM}" build --region us-east-1

  # Ship bytecode. Lambda's /opt and /var/task are read-only, so code deployed without
  # .pyc files is compiled from source on every cold start: importing the API with every
  # route group built took 3.8 s of CPU without bytecode and 1.6 s with it here
  # (docs/benchmarks.md "Shipped bytecode"). sam's Python builder installs with
  # --no-compile, so compile the built artifacts (layer and functions) with the
  # runtime's own Python. "unchecked-hash": the artifacts never change once built, and a
  # zip keeps file times at 2 s resolution, which a timestamp check could read as a change.
  echo "==> bytecode for python3.13 in .aws-sam/build"
  python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build >/dev/null
  missing="$(python3.13 - <<'PY'
import importlib.util, pathlib
root = pathlib.Path(".aws-sam/build")
for py in root.rglob("*.py"):
    if not pathlib.Path(importlib.util.cache_from_source(str(py))).exists():
        print(py)
PY
)"
  if [[ -n "${missing}" ]]; then
    echo "error: modules without bytecode in .aws-sam/build:" >&2
    echo "${missing}" | head -20 >&2
    exit 1
  fi
fi

echo "==> OK"
