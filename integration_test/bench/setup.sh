#!/bin/sh
# Installs what the benchmark compares notion-proxy with: mitmproxy (Debian
# package). The bare goproxy MITM is built from ./bareproxy by the benchmark
# itself. Safe to run again; needs root (or sudo) for apt-get.
set -eu
if command -v mitmdump >/dev/null 2>&1; then
	echo "mitmproxy: $(mitmdump --version 2>/dev/null | head -n 1)"
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends mitmproxy
echo "mitmproxy: $(mitmdump --version 2>/dev/null | head -n 1)"
