#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build mnet and run all of its
# tests (compilers, image libraries for the CLI, the Python oracles: numpy,
# PyTorch, flatbuffers, h5py, PIL, OpenCV, Arm NN with its TFLite parser).
# Does nothing when they are all present, so it also runs without root then.
set -euo pipefail

packages=(
  build-essential cmake clang libclang-rt-14-dev valgrind
  libjpeg-dev libpng-dev zlib1g-dev
  python3 python3-numpy python3-torch python3-flatbuffers python3-h5py
  python3-pil python3-opencv
  python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22
  pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg
  python3-torchvision
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
