#!/usr/bin/env bash
# Deploy the focalxl interactor (CUDA image, one GPU) into CVAT's Nuclio; needs the NVIDIA
# container toolkit on the host. See deploy/cvat-deploy.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/cvat-deploy.sh" function-gpu.yaml "$@"
