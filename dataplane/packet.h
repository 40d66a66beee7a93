/* SPDX-License-Identifier: MIT */
/* Small helpers on packet bytes, shared by the packet path and the main lcore. */
#ifndef HOPMESH_DATAPLANE_PACKET_H
#define HOPMESH_DATAPLANE_PACKET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#define IP4_LEN ((unsigned)sizeof(struct rte_ipv4_hdr))
#define IP6_LEN ((unsigned)sizeof(struct rte_ipv6_hdr))
#define UDP_LEN ((unsigned)sizeof(struct rte_udp_hdr))
#define ICMP6_NS 135
#define ICMP6_NA 136

/* RFC 1624 incremental checksum update for a 16-bit word changing. */
static inline uint16_t cksum_adjust(uint16_t cksum, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~cksum + (uint32_t)(uint16_t)~old_word + new_word;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* :: in packet memory, which has no alignment to speak of. */
static inline bool ip6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

/* Neighbour solicitations and advertisements: the main lcore's. len: the
 * IPv6 packet's length. */
static inline bool ip6_is_nd(const struct rte_ipv6_hdr *ip6, uint32_t len)
{
	const uint8_t *icmp = (const uint8_t *)(ip6 + 1);

	return ip6->proto == IPPROTO_ICMPV6 && len >= IP6_LEN + 4 &&
	       (icmp[0] == ICMP6_NS || icmp[0] == ICMP6_NA);
}

#endif
