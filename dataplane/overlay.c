// SPDX-License-Identifier: MIT
/* Datagrams between gateways' overlay addresses (overlay.h). */
#include <string.h>

#include <rte_ip.h>

#include "gateway.h"
#include "icmp.h"
#include "lsa.h"
#include "overlay.h"
#include "probe.h"
#include "routes.h"

struct rte_mbuf *overlay_udp_build(struct gateway *gw, const struct gw_entry *to, uint16_t port,
				   const void *payload, uint16_t len)
{
	const struct port_config *vm = &gw->cfg.port[PORT_VM];
	bool v4 = vm->address.s_addr && to->overlay4.s_addr;
	unsigned l3 = v4 ? sizeof(struct rte_ipv4_hdr) : sizeof(struct rte_ipv6_hdr);
	struct rte_mbuf *m;
	struct rte_udp_hdr *udp;
	uint8_t *p;

	if (!v4 && (IN6_IS_ADDR_UNSPECIFIED(&vm->address6) || IN6_IS_ADDR_UNSPECIFIED(&to->overlay6)))
		return NULL;
	if (!(m = rte_pktmbuf_alloc(gw->pool)))
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(l3 + sizeof(*udp) + len));
	if (!p) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	udp = (struct rte_udp_hdr *)(p + l3);
	udp->src_port = udp->dst_port = rte_cpu_to_be_16(port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, len);
	if (v4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(l3 + sizeof(*udp) + len));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = vm->address.s_addr;
		ip->dst_addr = to->overlay4.s_addr;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)p;

		memset(ip6, 0, sizeof(*ip6));
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = udp->dgram_len;
		ip6->proto = IPPROTO_UDP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, vm->address6.s6_addr, 16);
		memcpy(ip6->dst_addr, to->overlay6.s6_addr, 16);
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, udp);
	}
	return m;
}

bool overlay_from(const struct gw_entry *e, const struct overlay_dgram *d)
{
	if (d->v4)
		return e->overlay4.s_addr && !memcmp(d->ip + 12, &e->overlay4, 4);
	return !IN6_IS_ADDR_UNSPECIFIED(&e->overlay6) && !memcmp(d->ip + 8, &e->overlay6, 16);
}

/* The decrypted packet was checked as IP by tunnels/ (its version, and the
 * length its header gives against what was decrypted); the UDP header and
 * its length are checked here. */
static bool parse(struct rte_mbuf *m, struct overlay_dgram *d)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m), l3, ulen;

	if (len < 1)
		return false;
	d->ip = ip;
	d->v4 = (ip[0] >> 4) == 4;
	l3 = d->v4 ? (ip[0] & 0xfu) * 4u : sizeof(struct rte_ipv6_hdr);
	if (len < l3 + sizeof(struct rte_udp_hdr) || (d->v4 ? ip[9] : ip[6]) != IPPROTO_UDP ||
	    (d->v4 && l3 < sizeof(struct rte_ipv4_hdr)))
		return false;
	d->udp = (struct rte_udp_hdr *)(ip + l3);
	ulen = rte_be_to_cpu_16(d->udp->dgram_len);
	if (ulen < sizeof(struct rte_udp_hdr) || ulen > len - l3)
		return false;
	d->payload = (uint8_t *)(d->udp + 1);
	d->len = ulen - (uint32_t)sizeof(struct rte_udp_hdr);
	return true;
}

void overlay_input(struct gateway *gw, struct rte_mbuf *m, uint16_t src_gw, uint64_t now)
{
	struct overlay_dgram d;
	bool udp = parse(m, &d);

	if (udp && d.udp->dst_port == rte_cpu_to_be_16(PROBE_PORT))
		probe_input(gw, m, &d, src_gw, now);
	else if (udp && d.udp->dst_port == rte_cpu_to_be_16(LSA_PORT))
		lsa_input(gw, m, &d, src_gw, now);
	else
		icmp_overlay_echo(gw, m, now); /* a remote VM pinging us, or dropped there */
}
