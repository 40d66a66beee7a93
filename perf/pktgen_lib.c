// SPDX-License-Identifier: MIT
/*
 * perf/pktgen's pure parts: no port, no EAL (tests/unit/test_pktgen.c).
 *
 *   generator: pg_packet_size() (fixed or pg_imix_size()), pg_flow(),
 *     pg_frame_build(): Ethernet, IPv4 (checksum), UDP (no checksum), payload
 *   receiver: pg_frame_parse(): every length checked against the one before
 *     it before anything behind it is read; then pg_window_add() (duplicates,
 *     reordering) and pg_hist_add() (latency), read back with
 *     pg_hist_percentile()
 */
#include <string.h>

#include "pktgen.h"

static const uint16_t imix_sizes[PG_IMIX_PERIOD] = {
	64, 594, 64, 1420, 64, 594, 64, 64, 594, 64, 594, 64,
};

unsigned pg_imix_size(uint64_t i)
{
	return imix_sizes[i % PG_IMIX_PERIOD];
}

/* The size follows the sequence number, so a run's mix does not depend on
 * how the port takes its bursts. */
unsigned pg_packet_size(unsigned size, uint64_t seq)
{
	return size == PG_SIZE_IMIX ? pg_imix_size(seq) : size;
}

void pg_flow(uint32_t src_ip, uint64_t flow, uint32_t *ip, uint16_t *sport)
{
	*sport = (uint16_t)(PG_SPORT_MIN + flow % PG_SPORTS);
	*ip = src_ip + (uint32_t)(flow / PG_SPORTS);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static uint16_t ip_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < PG_IP_LEN; i += 2)
		sum += get16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Returns the frame's length, or 0 if ip_len is out of range or buf too
 * small. */
size_t pg_frame_build(uint8_t *buf, size_t cap, const struct pg_tmpl *t, unsigned ip_len,
		      uint64_t seq, uint64_t tsc)
{
	size_t len = PG_ETH_LEN + (size_t)ip_len;
	uint8_t *ip = buf + PG_ETH_LEN, *udp = ip + PG_IP_LEN, *pl = udp + PG_UDP_LEN;
	uint32_t src;
	uint16_t sport;

	if (ip_len < PG_SIZE_MIN || ip_len > PG_SIZE_MAX || len > cap)
		return 0;
	pg_flow(t->src_ip, t->flows ? seq % t->flows : 0, &src, &sport);
	memcpy(buf, t->dst_mac, 6);
	memcpy(buf + 6, t->src_mac, 6);
	put16(buf + 12, 0x0800);

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 4, (uint16_t)seq);
	put16(ip + 6, 0x4000); /* DF: a size the path cannot carry shows as loss */
	ip[8] = t->ttl;
	ip[9] = 17;
	put16(ip + 10, 0);
	put32(ip + 12, src);
	put32(ip + 16, t->dst_ip);
	put16(ip + 10, ip_checksum(ip));

	put16(udp, sport);
	put16(udp + 2, t->dst_port);
	put16(udp + 4, (uint16_t)(ip_len - PG_IP_LEN));
	put16(udp + 6, 0); /* IPv4 UDP without checksum */

	put32(pl, PG_MAGIC);
	put32(pl + 4, t->run);
	put64(pl + 8, seq);
	put64(pl + 16, tsc);
	pl[24] = t->ttl;
	memset(pl + PG_PAYLOAD_LEN, 0, ip_len - PG_IP_LEN - PG_UDP_LEN - PG_PAYLOAD_LEN);
	return len;
}

/*
 * A frame from the receiving port. Ours only if every header fits inside
 * the one around it: the IP header inside the frame, the IP packet (by its
 * total length) inside the frame (a port may pad behind it), the UDP
 * datagram (by its length) inside the IP packet, our payload inside the
 * datagram.
 */
enum pg_parse_result pg_frame_parse(const uint8_t *frame, size_t len, uint32_t run,
				    struct pg_rx_info *out)
{
	const uint8_t *ip, *udp, *pl;
	size_t ihl, total, udp_len;

	if (len < PG_ETH_LEN + PG_IP_LEN)
		return PG_FOREIGN_SHORT;
	if (get16(frame + 12) != 0x0800)
		return PG_FOREIGN_NOT_UDP4;
	ip = frame + PG_ETH_LEN;
	if (ip[0] >> 4 != 4)
		return PG_FOREIGN_NOT_UDP4;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	total = get16(ip + 2);
	if (ihl < PG_IP_LEN || total < ihl || total > len - PG_ETH_LEN)
		return PG_FOREIGN_SHORT;
	/* A fragment's payload is not a datagram's start (or is none of it). */
	if (ip[9] != 17 || (get16(ip + 6) & 0x3fff))
		return PG_FOREIGN_NOT_UDP4;
	if (total - ihl < PG_UDP_LEN)
		return PG_FOREIGN_SHORT;
	udp = ip + ihl;
	udp_len = get16(udp + 4);
	if (udp_len < PG_UDP_LEN || udp_len > total - ihl)
		return PG_FOREIGN_SHORT;
	if (udp_len - PG_UDP_LEN < PG_PAYLOAD_LEN)
		return PG_FOREIGN_MAGIC;
	pl = udp + PG_UDP_LEN;
	if (get32(pl) != PG_MAGIC || get32(pl + 4) != run)
		return PG_FOREIGN_MAGIC;
	out->seq = get64(pl + 8);
	out->tsc = get64(pl + 16);
	out->ttl_sent = pl[24];
	out->ttl_now = ip[8];
	out->ip_len = (uint32_t)total;
	return PG_OURS;
}

static unsigned hist_bucket(uint64_t v)
{
	unsigned e, shift;

	if (v < (1u << PG_HIST_SUB))
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	shift = e - PG_HIST_SUB;
	return ((shift + 1) << PG_HIST_SUB) + (unsigned)((v >> shift) - (1u << PG_HIST_SUB));
}

/* The highest value bucket b holds. */
static uint64_t hist_top(unsigned b)
{
	unsigned shift;
	uint64_t low;

	if (b < (1u << PG_HIST_SUB))
		return b;
	shift = (b >> PG_HIST_SUB) - 1;
	low = ((uint64_t)(1u << PG_HIST_SUB) + (b & ((1u << PG_HIST_SUB) - 1))) << shift;
	return low + ((1ULL << shift) - 1);
}

void pg_hist_add(struct pg_hist *h, uint64_t v)
{
	if (!h->n || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += v;
	h->count[hist_bucket(v)]++;
}

/* The value at or below which a fraction p of the samples lie (the sample
 * of rank ceil(p * n)), as its bucket's top, never above the maximum seen.
 * 0 without samples. */
uint64_t pg_hist_percentile(const struct pg_hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (!h->n)
		return 0;
	if (p <= 0)
		return h->min;
	rank = (uint64_t)(p * (double)h->n);
	if ((double)rank < p * (double)h->n)
		rank++;
	if (rank > h->n)
		rank = h->n;
	for (unsigned b = 0; b < PG_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank) {
			uint64_t top = hist_top(b);

			return top < h->max ? (top > h->min ? top : h->min) : h->max;
		}
	}
	return h->max;
}

static bool bit_test_set(struct pg_window *w, uint64_t seq)
{
	uint64_t *word = &w->bits[(seq % PG_WINDOW) / 64], bit = 1ULL << (seq % 64);
	bool was = *word & bit;

	*word |= bit;
	return was;
}

bool pg_window_add(struct pg_window *w, uint64_t seq)
{
	if (seq >= w->next) {
		/* The slots the window moves over are for numbers not seen yet. */
		if (seq - w->next >= PG_WINDOW) {
			memset(w->bits, 0, sizeof(w->bits));
		} else {
			for (uint64_t s = w->next; s < seq; s++)
				w->bits[(s % PG_WINDOW) / 64] &= ~(1ULL << (s % 64));
		}
		w->bits[(seq % PG_WINDOW) / 64] &= ~(1ULL << (seq % 64));
		bit_test_set(w, seq);
		w->next = seq + 1;
		w->unique++;
		return true;
	}
	if (w->next - seq > PG_WINDOW) {
		w->too_old++;
		w->reordered++;
		w->unique++;
		return true;
	}
	if (bit_test_set(w, seq)) {
		w->duplicates++;
		return false;
	}
	w->reordered++;
	w->unique++;
	return true;
}
