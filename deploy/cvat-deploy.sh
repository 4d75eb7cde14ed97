#!/usr/bin/env bash
# Deploy the focalxl interactor into CVAT's Nuclio, the way CVAT deploys its own functions:
#   nuctl deploy --project-name cvat --platform local
# Usage: deploy/cvat-deploy.sh function.yaml|function-gpu.yaml
# The build context is a temporary folder holding main.py, the YAML and a focalxl wheel
# built from this checkout (the YAML's postCopy step pip-installs it). Optional environment:
#   FOCALXL_PRESET       predictor preset (default: classical, no weights)
#   FOCALXL_CHECKPOINT   a weights file on this machine; copied into the image
#   FOCALXL_DEVICE, FOCALXL_MAX_PIXELS, FOCALXL_SESSION_MB, FOCALXL_MAX_PROMPTS, FOCALXL_MAX_BODY_MB
#                        passed through to the function
#   NUCTL                the nuctl command (default: nuctl)
set -euo pipefail

yaml_name=${1:?usage: $0 function.yaml|function-gpu.yaml}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nuctl=${NUCTL:-nuctl}
python=${PYTHON:-python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build="$work/context" source="$work/source"
mkdir "$build" "$source"
cp "$repo/serverless/cvat/nuclio/main.py" "$repo/serverless/cvat/nuclio/$yaml_name" "$build/"
# the wheel is built from a copy, so no stale build/ folder of the checkout slips into it
cp -r "$repo/pyproject.toml" "$repo/README.md" "$repo/core" "$repo/serverless" "$repo/backends" "$source/"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$build" "$source"

env_args=()
for name in FOCALXL_PRESET FOCALXL_DEVICE FOCALXL_MAX_PIXELS FOCALXL_SESSION_MB FOCALXL_MAX_PROMPTS FOCALXL_MAX_BODY_MB; do
    if [[ -n "${!name:-}" ]]; then
        env_args+=(--env "$name=${!name}")
    fi
done
if [[ -n "${FOCALXL_CHECKPOINT:-}" ]]; then
    [[ -f "$FOCALXL_CHECKPOINT" ]] || { echo "FOCALXL_CHECKPOINT: no such file $FOCALXL_CHECKPOINT" >&2; exit 2; }
    mkdir "$build/checkpoint"
    cp "$FOCALXL_CHECKPOINT" "$build/checkpoint/"
    env_args+=(--env "FOCALXL_CHECKPOINT=/opt/nuclio/checkpoint/$(basename "$FOCALXL_CHECKPOINT")")
fi

"$nuctl" get project cvat --platform local >/dev/null 2>&1 || "$nuctl" create project cvat --platform local
"$nuctl" deploy --project-name cvat --path "$build" --file "$build/$yaml_name" --platform local ${env_args[@]+"${env_args[@]}"}
"$nuctl" get function --platform local
