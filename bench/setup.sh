#!/bin/sh
# make bench-setup: installs the peers and the server that `make bench`
# compares against (it runs without them, marking their rows "not
# installed"). Debian/Ubuntu, as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No service start on install: the bench runs its own redis-server.
apt-get install -y -qq --no-install-recommends bubblewrap redis-server redis-tools
# The upstream sandlock (a Rust core with a Python API) from PyPI. Debian's
# own Python refuses a system-wide pip install without the flag.
python3 -m pip install -q sandlock 2>/dev/null ||
    python3 -m pip install -q --break-system-packages sandlock
