#!/usr/bin/env bash
# Set up a fresh machine for qcedge: Debian packages, a virtual environment in .venv,
# qcedge installed into it, and the generated samples. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  xvfb xauth x11-utils xdotool xclip ffmpeg
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim
  fonts-noto-cjk fonts-wqy-zenhei fonts-dejavu-core
  libegl1 libgl1 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6 libxkbcommon0 libxkbcommon-x11-0
  libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-sync1 libxcb-shm0
  python3-tk tk dcmtk dicom3tools orthanc orthanc-dicomweb libnotify-bin faketime
  postgresql chromium chromium-driver
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=300 "${missing[@]}"
  # Orthanc starts a system service on install; the tests run their own instances.
  (command -v service >/dev/null && $SUDO service orthanc stop >/dev/null 2>&1) || true
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.qcedge-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  echo "setup: installing qcedge and its Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,tesseract,central]"
  touch "$stamp"
fi

echo "setup: generating samples"
.venv/bin/python -m samples.generate --quiet
echo "setup: done"
