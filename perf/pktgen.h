/* SPDX-License-Identifier: MIT */
/*
 * perf/pktgen: what the generator and the receiver share.
 *
 * pktgen_lib.c holds the parts that touch no port and no EAL, so that
 * tests/unit/test_pktgen.c can run them alone: the test frame (built and
 * parsed, every length checked), the IMIX sequence, the flow of a packet,
 * the latency histogram and the sequence window that counts duplicates and
 * reordering. pktgen_port.c runs them on DPDK ports; pktgen.c is the command
 * line and the JSON report.
 */
#ifndef HOPMESH_PERF_PKTGEN_H
#define HOPMESH_PERF_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "HMPG": a frame of ours carries it first in its UDP payload. */
#define PG_MAGIC 0x484d5047u

#define PG_ETH_LEN 14
#define PG_IP_LEN 20
#define PG_UDP_LEN 8
#define PG_HDRS_LEN (PG_ETH_LEN + PG_IP_LEN + PG_UDP_LEN)

/*
 * The UDP payload, big-endian on the wire: magic, the run's id (frames of an
 * earlier run still in flight are foreign to this one), sequence number, the
 * TSC when the frame was handed to the port, and the TTL it left with.
 */
#define PG_PAYLOAD_LEN 25

/* Sizes are IP packet lengths (what a VM's MTU bounds): the frame is 14
 * bytes more, without FCS. */
#define PG_SIZE_MIN 64
#define PG_SIZE_MAX 1420

/* --size imix: 7:4:1 of 64, 594 and 1420 bytes, interleaved over 12 packets. */
#define PG_IMIX_PERIOD 12
#define PG_SIZE_IMIX 0

/* Flows vary the UDP source port over PG_SPORT_MIN..65535, then the source
 * address: flow f is port PG_SPORT_MIN + f % PG_SPORTS, address src + f /
 * PG_SPORTS. */
#define PG_SPORT_MIN 1024
#define PG_SPORTS (65536 - PG_SPORT_MIN)
#define PG_FLOWS_MAX 1000000

/* What every frame of a run has in common. Addresses in network order. */
struct pg_tmpl {
	uint8_t dst_mac[6], src_mac[6];
	uint32_t src_ip, dst_ip; /* host order */
	uint16_t dst_port;
	uint8_t ttl;
	uint32_t run;
	uint32_t flows;
};

/* What the receiver reads from one of our frames. */
struct pg_rx_info {
	uint64_t seq;
	uint64_t tsc;
	uint8_t ttl_sent, ttl_now;
	uint32_t ip_len;
};

enum pg_parse_result {
	PG_OURS,
	PG_FOREIGN_SHORT,   /* shorter than any header it claims, or lengths that disagree */
	PG_FOREIGN_NOT_UDP4,
	PG_FOREIGN_MAGIC,   /* UDP of someone else, or of another run */
};

unsigned pg_imix_size(uint64_t i);
unsigned pg_packet_size(unsigned size, uint64_t seq);
void pg_flow(uint32_t src_ip, uint64_t flow, uint32_t *ip, uint16_t *sport);
size_t pg_frame_build(uint8_t *buf, size_t cap, const struct pg_tmpl *t, unsigned ip_len,
		      uint64_t seq, uint64_t tsc);
enum pg_parse_result pg_frame_parse(const uint8_t *frame, size_t len, uint32_t run,
				    struct pg_rx_info *out);

/*
 * Latency histogram: log-linear, 2^PG_HIST_SUB buckets per power of two
 * above 2^PG_HIST_SUB ns (exact below), so a percentile read from it is at
 * most 1/2^PG_HIST_SUB (under 1.6%) above the sample it stands for.
 */
#define PG_HIST_SUB 6
#define PG_HIST_BUCKETS ((64 - PG_HIST_SUB + 1) << PG_HIST_SUB)
struct pg_hist {
	uint64_t n, sum, min, max;
	uint64_t count[PG_HIST_BUCKETS];
};
void pg_hist_add(struct pg_hist *h, uint64_t v);
uint64_t pg_hist_percentile(const struct pg_hist *h, double p);

/*
 * Sequence window: the last PG_WINDOW sequence numbers behind the highest
 * seen, one bit each, so that a duplicate is not counted as received and
 * loss stays what was sent minus what arrived. A frame from before the
 * window counts as received and reordered (it cannot be checked for a
 * duplicate); that needs a 4-million-packet reorder, which the report would
 * show anyway.
 */
#define PG_WINDOW_BITS 22
#define PG_WINDOW (1u << PG_WINDOW_BITS)
struct pg_window {
	uint64_t next;      /* one past the highest sequence number seen */
	uint64_t unique, duplicates, reordered, too_old;
	uint64_t bits[PG_WINDOW / 64];
};
/* Returns false for a duplicate. */
bool pg_window_add(struct pg_window *w, uint64_t seq);

#endif
