#!/usr/bin/env bash
# Deploy the focalxl interactor (CPU image) into CVAT's Nuclio; see deploy/cvat-deploy.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/cvat-deploy.sh" function.yaml "$@"
