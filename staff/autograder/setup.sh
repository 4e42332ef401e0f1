#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv
# A virtual environment: recent Ubuntu refuses system-wide pip installs.
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --no-cache-dir --upgrade pip
/autograder/venv/bin/python -m pip install --no-cache-dir -r /autograder/source/requirements.txt
