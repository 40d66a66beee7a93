/* SPDX-License-Identifier: MIT */
/*
 * A link-state advertisement (LSA) on the wire: what one gateway's meshd says
 * of its own links, carried between gateways inside their WireGuard sessions
 * (docs/PROTOCOL.md "Link state"). meshd builds it (controlplane/meshd_lsa.c),
 * the gateway sends it and keeps what it receives (dataplane/lsa.c). All
 * fields big-endian; no pointer, no padding.
 *
 * An origin's links are cut into parts of at most LSA_LINKS_MAX links; each
 * part is one UDP datagram, sent and replaced on its own. Every part of one
 * advertisement carries the same seq: the origin's wall clock in ns when it
 * was made, kept strictly increasing by the origin.
 */
#ifndef HOPMESH_LSA_WIRE_H
#define HOPMESH_LSA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LSA_PORT 51822
#define LSA_MAGIC 0x484d4c53u /* "HMLS" */
#define LSA_VERSION 1
/* 20 + 48 x 26 = 1268 bytes: with an IPv6 and a UDP header it fits the
 * smallest inner MTU, a relayed path's 1388 bytes. */
#define LSA_LINKS_MAX 48
/* ceil(4094 / 48): every other gateway of the largest mesh. */
#define LSA_PARTS_MAX 86
#define LSA_LIFETIME_MAX_S 3600
#define LSA_GATEWAY_ID_MAX 4095 /* ids are 12 bits, 0 none */

struct lsa_hdr {
	uint32_t magic;
	uint8_t version;
	uint8_t part;        /* 0 .. nparts - 1 */
	uint8_t nparts;      /* 1 .. LSA_PARTS_MAX */
	uint8_t nlinks;      /* 0 .. LSA_LINKS_MAX */
	uint16_t origin;     /* the gateway whose links these are, 1-4095 */
	uint16_t lifetime_s; /* forgotten this long after it came, unless renewed */
	uint64_t seq;
} __attribute__((packed));

#define LSA_LINK_UP 0x01

struct lsa_link {
	uint16_t to;         /* 1-4095, not the origin */
	uint8_t flags;       /* LSA_LINK_UP; the rest sent as 0, ignored */
	uint8_t reserved;
	uint32_t rtt_us;     /* EWMA */
	uint32_t p50_us, p90_us, p99_us;
	uint32_t jitter_us;
	uint16_t loss;       /* loss x 65535 */
} __attribute__((packed));

_Static_assert(sizeof(struct lsa_hdr) == 20, "lsa_hdr is 20 bytes");
_Static_assert(sizeof(struct lsa_link) == 26, "lsa_link is 26 bytes");

#define LSA_BYTES_MAX (sizeof(struct lsa_hdr) + LSA_LINKS_MAX * sizeof(struct lsa_link))

/* Whether len bytes at p are one part as docs/PROTOCOL.md gives it: its
 * header in range, exactly its links behind it, each naming another gateway,
 * in ascending order (one order: a reader finds a link by bisection).
 * lsa_wire.c; the gateway checks every part it sends or receives with it. */
bool lsa_part_well_formed(const uint8_t *p, size_t len);

/* The len bytes at p in lowercase hexadecimal: 2 * len characters and a
 * NUL into out. How parts cross the control socket ("lsa send HEX", "lsa
 * dump SINCE wire"). */
void lsa_part_to_hex(const uint8_t *p, size_t len, char *out);

/* The n characters at hex read into buf (*len bytes): true if they are
 * hexadecimal and one well-formed part. */
bool lsa_part_read_hex(const char *hex, size_t n, uint8_t buf[LSA_BYTES_MAX], size_t *len);

/* The reply to "lsa dump SINCE wire" (docs/CONTROL.md), read part by part:
 *   {"seq":S,"lsas":[{"age_ms":A,"wire":"HEX"},...]}
 * by hand, not by jansson: it is one fixed shape, made by our gateway, and
 * jansson's lexer (a call, a UTF-8 check and a buffer append for each
 * character, then a copy) cost meshd more on the parts' hexadecimal than
 * all else it does at 100 gateways. */
struct lsa_dump_reader {
	const char *p;
	unsigned parts;
};

/* false if reply does not begin as such a dump; *seq its "seq". */
bool lsa_dump_begin(struct lsa_dump_reader *r, const char *reply, uint64_t *seq);
/* The next part: 1 with its age and bytes (a well-formed part), 2 for one
 * whose bytes are not a part (skip it), 0 at the dump's end, which means
 * all of it was read; -1 if the reply left the shape: nothing after it can
 * be read. */
int lsa_dump_next(struct lsa_dump_reader *r, uint64_t *age_ms, uint8_t buf[LSA_BYTES_MAX], size_t *len);

/* "lsa send HEX"'s argument read into buf (*len bytes): hexadecimal, one
 * well-formed part, whose origin is self. false with the control socket's
 * error reply ({"error":...}) in err otherwise. lsa_wire.c; the gateway
 * (dataplane/lsa.c) and simgw both read the command with it. */
bool lsa_part_from_hex(const char *hex, uint16_t self, uint8_t buf[LSA_BYTES_MAX], size_t *len, char *err,
		       size_t errlen);

#endif
