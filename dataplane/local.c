// SPDX-License-Identifier: MIT
/* Packets for the gateway itself: it answers ICMP echo on both ports, so an
 * operator can ping its VM-side and underlay addresses. Anything else is
 * counted and dropped. */
#include <rte_icmp.h>
#include <rte_ip.h>

#include "gateway.h"

void local_input(struct gateway *gw, unsigned port, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp;
	uint32_t len = rte_pktmbuf_data_len(m), ihl, total, tmp;

	if (len < sizeof(*eth) + sizeof(*ip) || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    (ihl = (ip->version_ihl & 0xfu) * 4) < sizeof(*ip) ||
	    (total = rte_be_to_cpu_16(ip->total_length)) > len - sizeof(*eth) ||
	    total < ihl + sizeof(*icmp) || ip->next_proto_id != IPPROTO_ICMP ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		control_drop(gw, m, C_NOT_FOR_US);
		return;
	}
	icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		control_drop(gw, m, C_NOT_FOR_US);
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
	control_transmit(gw, port, m);
}
