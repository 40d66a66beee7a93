#!/usr/bin/env bash
# Installs every Debian package hopmesh builds, tests or demonstrates with, by name.
# Idempotent: packages already present are left alone and apt is not touched at all
# when nothing is missing. --no-install-recommends matters: wireguard-tools would
# otherwise pull in a kernel image.
set -euo pipefail

packages=(
	# build
	build-essential pkg-config meson ninja-build clang llvm
	# dataplane and crypto
	dpdk libdpdk-dev libsodium-dev libssl-dev libipsec-mb-dev
	# xdp and the control plane
	libbpf-dev libxdp-dev bpftool libmnl-dev libcurl4-openssl-dev libjansson-dev
	libmicrohttpd-dev libsystemd-dev
	# tests
	systemd libcmocka-dev libpcap-dev libclang-rt-14-dev python3
	iproute2 ethtool iputils-ping iputils-tracepath traceroute procps psmisc strace
	# the manuals render without warnings (tests/cli/install.sh)
	man-db groff-base
	# interop peers and traffic
	wireguard-tools wireguard-go iperf3 tshark
	# the plain-DPDK forwarding baseline of perf/run-forward.sh (dpdk-testpmd)
	# and its plot
	dpdk-dev gnuplot-nox
	# registry and metrics
	etcd-server etcd-client prometheus
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter here.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
