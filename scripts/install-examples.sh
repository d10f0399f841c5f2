#!/usr/bin/env bash
# What the examples under examples/ need beyond Rust, pinned as CI pins it:
#   examples/python-web      Python 3 (standard library only)
#   examples/python-handler  Python 3 and awslambdaric, Python's official Lambda runtime client
#   examples/node-handler    Node.js, npm and aws-lambda-ric, Node's official Lambda runtime client,
#                            whose native addon builds with cmake, autoconf, automake, libtool,
#                            g++ and make (installed from Debian here when missing, as root)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "python3 is needed (Debian: apt-get install python3 python3-pip)" >&2; exit 1; }
python3 -m pip install --quiet --disable-pip-version-check awslambdaric==4.2.2

command -v npm >/dev/null || { echo "npm is needed for examples/node-handler (Debian: apt-get install nodejs npm)" >&2; exit 1; }
missing=()
for tool in cmake autoconf automake libtoolize g++ make; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake autoconf automake libtool g++ make >/dev/null
    else
        echo "aws-lambda-ric's native addon needs: ${missing[*]} (Debian: apt-get install cmake autoconf automake libtool g++ make)" >&2
        exit 1
    fi
fi
(cd examples/node-handler && npm ci --no-audit --no-fund --loglevel=error)
