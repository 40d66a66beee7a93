/* SPDX-License-Identifier: MIT */
/* Test harness for tunnels/: devices whose sends land in a queue, and a clock
 * the test moves by hand. */
#ifndef HOPMESH_TEST_HARNESS_H
#define HOPMESH_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tunnels.h"

#define NS (1000000000ULL)
#define MAX_SENT 512

struct sent_msg {
	struct wg_peer *peer;
	struct wg_endpoint to;
	size_t len;
	uint8_t data[2048];
};

struct node {
	struct wg_device *dev;
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	struct wg_endpoint addr; /* where others reach it */
	struct sent_msg sent[MAX_SENT];
	unsigned nsent;
	unsigned session_ready_calls;
	unsigned staged_freed;
	struct wg_crypto *crypto;
};

extern uint64_t test_now;      /* monotonic ns */
extern uint64_t test_wall_ns;  /* wall clock ns */

void node_init(struct node *n, const char *ip, uint16_t port);
void node_free(struct node *n);
/* a and b know each other (allowed-ips a_net for a's side, b_net for b's). */
void node_pair(struct node *a, struct node *b, const char *a_net, const char *b_net,
	       const uint8_t *psk);
/* Deliver every message n has sent to dst (handshakes via handshake_rx, data via
 * decrypt_burst); returns how many were delivered. */
unsigned deliver(struct node *from, struct node *to);
void clear_sent(struct node *n);
unsigned count_type(const struct node *n, uint32_t type);
/* Build an IPv4/UDP packet src->dst with payload len bytes into buf at offset 16
 * (room for the data header); returns the inner length. */
uint32_t make_ipv4(uint8_t *buf, const char *src, const char *dst, uint32_t payload);
/* Encrypt one inner IPv4 packet from a to peer; returns status. */
int send_data(struct node *a, struct wg_peer *peer, const char *src, const char *dst,
	      uint32_t payload, uint8_t *out, uint32_t *outlen);
int recv_data(struct node *b, uint8_t *msg, uint32_t len, const struct wg_endpoint *from);
struct wg_peer *peer_of(struct node *n, const struct node *other);
bool read_key_file(const char *path, uint8_t key[WG_KEY_LEN]);
/* a initiates, b responds, a confirms with a keepalive, b makes the session
 * current on its next tick; every step is checked. Clears what both sent. */
void handshake(struct node *a, struct node *b);

/* Two nodes paired as node_pair() does (a: 10.1.0.0/24, b: 10.2.0.0/24), in a
 * fresh stretch of time; as cmocka fixtures, *state is the struct pair. */
struct pair {
	struct node *a, *b;
};
struct pair *pair_new(void);
void pair_free(struct pair *p);
int pair_setup(void **state);
int pair_teardown(void **state);

#endif
