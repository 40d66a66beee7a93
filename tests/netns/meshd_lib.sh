# SPDX-License-Identifier: MIT
# The meshd tests' helpers are tests/lib/scenario.sh, shared with the demo;
# this name stays for a test that sources it.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/scenario.sh"
