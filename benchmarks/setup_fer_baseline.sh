#!/usr/bin/env bash
# Builds benchmarks/.venv-fer: the `fer` PyPI package (Haar / MTCNN detector and
# its Keras emotion CNN) for the baseline rows of benchmarks/live_classroom.py.
#
#   bash benchmarks/setup_fer_baseline.sh          # safe to re-run
#   PYTHON=python3.11 bash benchmarks/setup_fer_baseline.sh
#
# It lives in its own virtual environment because fer needs
# opencv-contrib-python (a second OpenCV wheel that must not sit beside
# opencv-python-headless in the main environment), TensorFlow and PyTorch.
# facenet-pytorch (fer's MTCNN) pins torch<2.3, which would pull the CUDA
# build; it is installed without dependencies on top of a CPU torch instead.
set -euo pipefail

cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3.11}"
VENV=.venv-fer
TORCH_VERSION=2.13.0        # CPU build when a local wheel or the CPU index provides it
TORCHVISION_VERSION=0.28.0  # the torchvision release built for that torch
FER_VERSION=25.10.3

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet)

# A plain `pip install torch` pulls gigabytes of CUDA libraries; ask for the CPU
# wheel explicitly and fall back to the CPU index when no local wheel has it.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if ! "${PIP[@]}" "torch==$TORCH_VERSION"; then
    "${PIP[@]}" "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
"${PIP[@]}" "torchvision==$TORCHVISION_VERSION"
# fer and facenet-pytorch without their pins (torch<2.3, numpy<2, pillow<10.3);
# then fer's remaining requirements. setuptools<81 keeps pkg_resources, which
# fer imports.
"${PIP[@]}" --no-deps "fer==$FER_VERSION" facenet-pytorch==2.6.0
"${PIP[@]}" "setuptools<81" matplotlib opencv-contrib-python tensorflow-cpu pandas \
  requests "tqdm>=4.62.1" "moviepy>=1.0.3,<2" "ffmpeg-python>=0.2.0" Pillow

# Both detectors must work offline: their weights ship inside the wheels
# (fer: data/emotion_model*.{hdf5,tflite}; facenet-pytorch: data/[pro]net.pt).
FRAMES="$(mktemp --suffix=.npy)"
trap 'rm -f "$FRAMES"' EXIT
"$VENV/bin/python" -c "import numpy as np, sys; np.save(sys.argv[1], np.full((1, 480, 640, 3), 128, np.uint8))" "$FRAMES"
"$VENV/bin/python" fer_baseline_worker.py --frames "$FRAMES" --detectors haar,mtcnn 2>/dev/null \
  | "$VENV/bin/python" -c "
import json, sys
result = json.loads(sys.stdin.read().strip().splitlines()[-1])
errors = {k: v['error'] for k, v in result.items() if 'error' in v}
sys.exit(f'fer baseline broken: {errors}' if errors else 0)"
echo "fer baseline ready in benchmarks/$VENV (Haar and MTCNN)"
