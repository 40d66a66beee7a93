#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# An idle gateway uses at most 5 % of one core, as docs/ARCHITECTURE.md ("Idle
# policy") says (2.2-2.6 % measured on the shared machine, 2.2-3.4 % built with
# AddressSanitizer; the workers wait on their ports' sockets with a timeout
# of at most 1 ms, dataplane/rx_wait.c): the rig's two gateways, each
# with an established session and no traffic, measured over 10 s (user +
# system time of all the gateway's threads, from /proc).
set -u
. "$(dirname "$0")/../rig/rig.sh"

LIMIT_PERCENT=5
hm_init idle
hm_require_root
rig_up 2 1
hm_check "sessions established" rig_check 15
sleep 12 # the protocol's keepalive after the last data goes out within 10 s
rig_check_idle "$LIMIT_PERCENT" 1 2
