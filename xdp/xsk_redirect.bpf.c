// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * The XDP program a gateway's port runs on net_af_xdp: every frame that
 * arrives on receive queue Q goes to the AF_XDP socket the PMD bound to Q
 * (xsks_map[Q], filled by the PMD), or on to the kernel when no socket is
 * bound there.
 *
 * Why our own: net_af_xdp's built-in program is loaded through libxdp's
 * multi-program dispatcher, which fails on some kernels (it did on the
 * machine these docs were measured on); with `xdp_prog=` the PMD loads this
 * single program itself (libbpf) and fills the map it finds under the name
 * `xsks_map`. The whole port belongs to the gateway, so nothing here
 * parses a frame: the gateway's own checks (ingress.c, egress.c) count what
 * they drop.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* One entry per receive queue; 64 covers the PMD's queue_count (a worker
 * per queue, and the gateway has far fewer lcores). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	/* XDP_PASS when the queue has no socket: the kernel keeps the frame. */
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

/* The GPL is offered for the verifier's GPL-only helpers; this program
 * calls none, but a kernel that checks the licence string reads it here. */
char _license[] SEC("license") = "Dual MIT/GPL";
