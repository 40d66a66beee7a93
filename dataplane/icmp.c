// SPDX-License-Identifier: MIT
/*
 * ICMP on the main lcore: echo replies for the gateway's own addresses, the
 * errors that make traceroute and path MTU discovery work through the overlay
 * (time exceeded, fragmentation needed / packet too big, for IPv4 and IPv6),
 * and fragmentation of IPv4 packets that allow it.
 *
 * An error is sent from the overlay address of the gateway where the packet
 * died: ours, or a relay's when we counted its hop for it (hop.h,
 * hop_spend_ttl()). It goes back the way the packet came: to the local VM on
 * the VM port (neigh_output()), or through the tunnel to a remote one
 * (egress_send_routed()). Errors are rate limited per source address and in
 * total (icmp_limit.h) and never sent about errors, fragments after the
 * first, or multicast.
 */
#include <sodium.h>

#include <rte_icmp.h>
#include <rte_ip.h>

#include "egress.h"
#include "gateway.h"
#include "icmp.h"
#include "icmp_limit.h"
#include "lcore_io.h"
#include "neigh.h"
#include "packet.h"
#include "routes.h"

#define ICMP4_QUOTE_MAX (576 - 20 - 8)   /* RFC 1812: fill a 576-byte datagram */
#define ICMP6_QUOTE_MAX (1280 - 40 - 8)  /* RFC 4443: fit the minimum MTU */
#define ICMP_RATE_SOURCE 200             /* errors per second to one source */
#define ICMP_BURST_SOURCE 100
#define ICMP_RATE_TOTAL 1000             /* errors per second from the gateway */
#define ICMP_BURST_TOTAL 500
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP4_DEST_UNREACH 3
#define ICMP4_FRAG_NEEDED 4
#define ICMP4_TIME_EXCEEDED 11

/* ---- echo for our own addresses ---- */

static void echo4(struct gateway *gw, unsigned port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp;
	uint32_t len = rte_pktmbuf_data_len(m), ihl, total, tmp;

	if (len < sizeof(*eth) + sizeof(*ip) ||
	    (ihl = (ip->version_ihl & 0xfu) * 4) < sizeof(*ip) ||
	    (total = rte_be_to_cpu_16(ip->total_length)) > len - sizeof(*eth) ||
	    total < ihl + sizeof(*icmp) || ip->next_proto_id != IPPROTO_ICMP ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		lcore_drop(gw->main_lc, m, GW_DROP_NOT_FOR_US);
		return;
	}
	icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		lcore_drop(gw->main_lc, m, GW_DROP_NOT_FOR_US);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(len - sizeof(*eth) - total));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, total - ihl);
	tmp = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = tmp;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
	lcore_tx(gw->main_lc, port, m);
}

static void echo6(struct gateway *gw, unsigned port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *icmp = (uint8_t *)(ip6 + 1), tmp[16];
	uint32_t len = rte_pktmbuf_data_len(m), plen = rte_be_to_cpu_16(ip6->payload_len);
	uint16_t sum;

	/* The worker checked the frame holds the whole payload. */
	if (ip6->proto != IPPROTO_ICMPV6 || plen < 8 || icmp[0] != ICMP6_ECHO_REQUEST) {
		lcore_drop(gw->main_lc, m, GW_DROP_NOT_FOR_US);
		return;
	}
	rte_pktmbuf_trim(m, (uint16_t)(len - sizeof(*eth) - sizeof(*ip6) - plen));
	icmp[0] = ICMP6_ECHO_REPLY;
	memcpy(tmp, ip6->src_addr, 16);
	memcpy(ip6->src_addr, ip6->dst_addr, 16);
	memcpy(ip6->dst_addr, tmp, 16);
	ip6->hop_limits = 64;
	memset(icmp + 2, 0, 2);
	sum = rte_ipv6_udptcp_cksum(ip6, icmp);
	memcpy(icmp + 2, &sum, 2);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&gw->mac[port], &eth->src_addr);
	lcore_tx(gw->main_lc, port, m);
}

void icmp_local_input(struct gateway *gw, unsigned port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
		echo6(gw, port, m);
	else
		echo4(gw, port, m);
}

/* ---- errors ---- */

/* Only the main lcore sends errors (mainlcore.c, drain_slow_path()), so the
 * limiter is this file's and needs no lock. It is set up at the first error:
 * all buckets full then. */
static bool rate_allows(const void *src, size_t len, uint64_t now)
{
	static struct icmp_limit limit;
	static bool ready;

	if (!ready) {
		uint8_t key[ICMP_LIMIT_KEY_BYTES];

		randombytes_buf(key, sizeof(key));
		icmp_limit_init(&limit, (struct icmp_limit_rate){ ICMP_RATE_SOURCE, ICMP_BURST_SOURCE },
				(struct icmp_limit_rate){ ICMP_RATE_TOTAL, ICMP_BURST_TOTAL }, key, now);
		ready = true;
	}
	return icmp_limit_allow(&limit, src, len, now);
}

static bool no_error_about4(const struct rte_ipv4_hdr *ip, uint32_t len)
{
	const uint8_t *l4 = (const uint8_t *)ip + (ip->version_ihl & 0xf) * 4;
	uint8_t first = *(const uint8_t *)&ip->dst_addr;

	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
		return true;
	if (first >= 224 || ip->dst_addr == 0xffffffff || ip->src_addr == 0)
		return true;
	/* Errors are never answered with errors; echo and the like are fine. */
	return ip->next_proto_id == IPPROTO_ICMP && len >= (unsigned)(l4 - (const uint8_t *)ip) + 1 &&
	       l4[0] != RTE_IP_ICMP_ECHO_REQUEST && l4[0] != RTE_IP_ICMP_ECHO_REPLY;
}

static bool no_error_about6(const struct rte_ipv6_hdr *ip6, uint32_t len)
{
	const uint8_t *icmp = (const uint8_t *)(ip6 + 1);

	if (ip6->dst_addr[0] == 0xff || ip6_unspecified(ip6->src_addr))
		return true;
	return ip6->proto == IPPROTO_ICMPV6 && len > sizeof(*ip6) && icmp[0] < ICMP6_ECHO_REQUEST;
}

static struct rte_mbuf *error4(struct gateway *gw, const struct rte_ipv4_hdr *orig, uint32_t len,
			       const struct pkt_meta *meta)
{
	uint32_t quote = len < ICMP4_QUOTE_MAX ? len : ICMP4_QUOTE_MAX;
	struct gw_entry *speaker = routes_gateway(gw->routes, meta->src_gw);
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;

	if (!m)
		return NULL;
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip) + sizeof(*icmp) + quote));
	if (!ip) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip) + sizeof(*icmp));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*icmp) + quote));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = speaker && speaker->overlay4.s_addr ? speaker->overlay4.s_addr
							   : gw->cfg.port[PORT_VM].address.s_addr;
	ip->dst_addr = orig->src_addr;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (meta->icmp_kind == ICMP_TIME_EXCEEDED) {
		icmp->icmp_type = ICMP4_TIME_EXCEEDED;
	} else {
		icmp->icmp_type = ICMP4_DEST_UNREACH;
		icmp->icmp_code = ICMP4_FRAG_NEEDED;
		icmp->icmp_seq_nb = rte_cpu_to_be_16(meta->mtu);
	}
	memcpy(icmp + 1, orig, quote);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	return m;
}

static struct rte_mbuf *error6(struct gateway *gw, const struct rte_ipv6_hdr *orig, uint32_t len,
			       const struct pkt_meta *meta)
{
	uint32_t quote = len < ICMP6_QUOTE_MAX ? len : ICMP6_QUOTE_MAX;
	struct gw_entry *speaker = routes_gateway(gw->routes, meta->src_gw);
	const struct in6_addr *src = speaker && !IN6_IS_ADDR_UNSPECIFIED(&speaker->overlay6)
					     ? &speaker->overlay6 : &gw->cfg.port[PORT_VM].address6;
	struct rte_mbuf *m;
	struct rte_ipv6_hdr *ip6;
	uint8_t *icmp;
	uint32_t mtu = rte_cpu_to_be_32(meta->mtu);
	uint16_t sum;

	if (IN6_IS_ADDR_UNSPECIFIED(src) || !(m = rte_pktmbuf_alloc(gw->pool)))
		return NULL;
	ip6 = (struct rte_ipv6_hdr *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip6) + 8 + quote));
	if (!ip6) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	icmp = (uint8_t *)(ip6 + 1);
	memset(ip6, 0, sizeof(*ip6) + 8);
	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = 64;
	memcpy(ip6->src_addr, src->s6_addr, 16);
	memcpy(ip6->dst_addr, orig->src_addr, 16);
	if (meta->icmp_kind == ICMP_TIME_EXCEEDED) {
		icmp[0] = ICMP6_TIME_EXCEEDED;
	} else {
		icmp[0] = ICMP6_TOO_BIG;
		memcpy(icmp + 4, &mtu, 4);
	}
	memcpy(icmp + 8, orig, quote);
	sum = rte_ipv6_udptcp_cksum(ip6, icmp);
	memcpy(icmp + 2, &sum, 2);
	return m;
}

void icmp_error_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now)
{
	const struct pkt_meta *meta = pkt_meta(m);
	const uint8_t *orig = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct rte_mbuf *err;
	bool v4 = (orig[0] >> 4) == 4;
	uint8_t next_hop[16];

	if (v4 ? no_error_about4((const void *)orig, len) : no_error_about6((const void *)orig, len)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* Limited per the address the error goes back to. */
	if (v4 ? !rate_allows(&((const struct rte_ipv4_hdr *)orig)->src_addr, 4, now)
	       : !rate_allows(((const struct rte_ipv6_hdr *)orig)->src_addr, 16, now)) {
		lcore_drop(gw->main_lc, m, GW_DROP_ICMP_RATELIMITED);
		return;
	}
	err = v4 ? error4(gw, (const void *)orig, len, meta) : error6(gw, (const void *)orig, len, meta);
	if (err) {
		COUNT(&gw->main_lc->counters, icmp_sent, 1);
		if (meta->port == PORT_VM) {
			/* Back to the local VM that sent it. */
			if (v4)
				neigh_key4(next_hop, ((const struct rte_ipv4_hdr *)orig)->src_addr);
			else
				memcpy(next_hop, ((const struct rte_ipv6_hdr *)orig)->src_addr, 16);
			neigh_output(gw->main_lc, PORT_VM, err, next_hop);
		} else {
			egress_send_routed(gw->main_lc, &err, 1, now);
		}
	}
	rte_pktmbuf_free(m);
}

/* ---- fragmentation ---- */

void icmp_fragment_input(struct gateway *gw, struct rte_mbuf *m, uint64_t now)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t ihl = (ip->version_ihl & 0xfu) * 4, total = rte_pktmbuf_pkt_len(m);
	uint32_t chunk = ((pkt_meta(m)->mtu - ihl) / 8) * 8;
	uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
	uint32_t base = (uint32_t)(frag & RTE_IPV4_HDR_OFFSET_MASK) * 8;
	bool more = frag & RTE_IPV4_HDR_MF_FLAG;

	if (chunk < 8 || total <= ihl) {
		lcore_drop(gw->main_lc, m, GW_DROP_TOO_BIG);
		return;
	}
	for (uint32_t off = 0; off < total - ihl; off += chunk) {
		uint32_t len = total - ihl - off < chunk ? total - ihl - off : chunk;
		bool last = off + len == total - ihl;
		struct rte_mbuf *f = rte_pktmbuf_alloc(gw->pool);
		struct rte_ipv4_hdr *h;

		if (!f) {
			COUNT(&gw->main_lc->counters, drop[GW_DROP_NO_MBUF], 1);
			break;
		}
		h = (struct rte_ipv4_hdr *)rte_pktmbuf_append(f, (uint16_t)(ihl + len));
		if (!h) {
			lcore_drop(gw->main_lc, f, GW_DROP_TOO_BIG);
			break;
		}
		memcpy(h, ip, ihl);
		memcpy((uint8_t *)h + ihl, (const uint8_t *)ip + ihl + off, len);
		h->total_length = rte_cpu_to_be_16((uint16_t)(ihl + len));
		h->fragment_offset = rte_cpu_to_be_16((uint16_t)(((base + off) / 8) |
								 (!last || more ? RTE_IPV4_HDR_MF_FLAG : 0)));
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		egress_send_routed(gw->main_lc, &f, 1, now);
	}
	rte_pktmbuf_free(m);
}

/* ---- echo for our overlay address, through the tunnel ---- */

void icmp_overlay_echo(struct gateway *gw, struct rte_mbuf *m, uint64_t now)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *), tmp[16];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	bool v4 = (ip[0] >> 4) == 4;
	unsigned l3 = v4 ? (ip[0] & 0xfu) * 4 : sizeof(struct rte_ipv6_hdr);
	uint8_t *icmp = ip + l3;
	uint16_t sum;

	if (len < l3 + 8 || (v4 ? ip[9] != IPPROTO_ICMP || icmp[0] != RTE_IP_ICMP_ECHO_REQUEST
				: ip[6] != IPPROTO_ICMPV6 || icmp[0] != ICMP6_ECHO_REQUEST)) {
		lcore_drop(gw->main_lc, m, GW_DROP_NOT_FOR_US);
		return;
	}
	if (v4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		icmp[0] = RTE_IP_ICMP_ECHO_REPLY;
		memset(icmp + 2, 0, 2);
		sum = (uint16_t)~rte_raw_cksum(icmp, len - l3);
		memcpy(icmp + 2, &sum, 2);
		memcpy(tmp, &h->src_addr, 4);
		h->src_addr = h->dst_addr;
		memcpy(&h->dst_addr, tmp, 4);
		h->time_to_live = 64;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
	} else {
		struct rte_ipv6_hdr *h6 = (struct rte_ipv6_hdr *)ip;

		icmp[0] = ICMP6_ECHO_REPLY;
		memcpy(tmp, h6->src_addr, 16);
		memcpy(h6->src_addr, h6->dst_addr, 16);
		memcpy(h6->dst_addr, tmp, 16);
		h6->hop_limits = 64;
		memset(icmp + 2, 0, 2);
		sum = rte_ipv6_udptcp_cksum(h6, icmp);
		memcpy(icmp + 2, &sum, 2);
	}
	egress_send_routed(gw->main_lc, &m, 1, now);
}
