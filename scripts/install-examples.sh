#!/usr/bin/env bash
# What the examples under examples/ need beyond Rust, pinned as CI pins it:
#   examples/python-web      Python 3 (standard library only)
#   examples/python-handler  Python 3 and awslambdaric, Python's official Lambda runtime client
set -euo pipefail
command -v python3 >/dev/null || { echo "python3 is needed (Debian: apt-get install python3 python3-pip)" >&2; exit 1; }
python3 -m pip install --quiet --disable-pip-version-check awslambdaric==4.2.2
