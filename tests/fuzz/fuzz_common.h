/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets of tunnels/: a deterministic random source,
 * a fake monotonic clock, devices whose sends land in a small queue, and the
 * test-only keys of tests/fixtures/wireguard-go (so that the captured messages
 * of the seed corpus are valid against these devices).
 */
#ifndef HOPMESH_FUZZ_COMMON_H
#define HOPMESH_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnels.h"

#define FZ_NS UINT64_C(1000000000)
#define FZ_MS UINT64_C(1000000)
#define FZ_QUEUE_MAX 16
#define FZ_MSG_MAX 256 /* handshake messages and keepalives; nothing bigger is sent */

/* The fake clock: monotonic nanoseconds. Only ever moves forward. */
extern uint64_t fz_now;
void fz_advance(uint64_t ns);

/* Installs the deterministic random source into libsodium (which tunnels/ takes
 * all of its randomness from), then initialises tunnels/' crypto: call before
 * anything else touches libsodium. */
void fz_init(void);
/* Restart the random stream, so one input always sees the same ephemerals,
 * indices and cookie secrets. */
void fz_reseed(uint64_t seed);

struct fz_msg {
	size_t len;
	uint8_t data[FZ_MSG_MAX];
};

struct fz_node {
	int who; /* fixture identity, 1 or 2 */
	struct wg_device *dev;
	struct wg_crypto *crypto; /* a data thread's, made on first use: fz_crypto() */
	struct wg_peer *peer; /* its one configured peer, if any */
	struct wg_endpoint addr;
	uint8_t pub[WG_KEY_LEN];
	unsigned nsent;
	struct fz_msg sent[FZ_QUEUE_MAX]; /* what it sent; more is dropped */
};

/* Test-only fixture identities: 1 is 10.90.0.1:51820 (tunnel 10.91.0.1, fd91::1),
 * 2 is 10.90.0.2:51820 (tunnel 10.91.0.2, fd91::2). */
void fz_key(int who, uint8_t priv[WG_KEY_LEN]);
void fz_psk(uint8_t psk[WG_KEY_LEN]);

/* A device with fixture identity "who" (1 or 2) and no peers. Aborts on failure:
 * nothing here may fail for reasons of the input. */
void fz_node_init(struct fz_node *n, int who);
void fz_node_free(struct fz_node *n);
/* The node's data-thread crypto context. */
struct wg_crypto *fz_crypto(struct fz_node *n);
/* The public key of fixture identity "who". */
void fz_pub(int who, uint8_t pub[WG_KEY_LEN]);
/* n gets fixture identity "other" as its peer (n->peer): endpoint
 * 10.90.0.<other>:51820, allowed-ips 10.91.0.<other>/32, 10.91.<other>.0/24,
 * fd91::<other>/128 and fd91:<other>::/64, optionally the fixture PSK. */
void fz_node_add_peer(struct fz_node *n, int other, bool psk);
/* Each knows the other. */
void fz_node_pair(struct fz_node *a, struct fz_node *b, bool psk);
/* Hand everything "from" sent to "to": handshakes through handshake_rx, data
 * through decrypt_burst; returns how many messages were delivered. */
unsigned fz_deliver(struct fz_node *from, struct fz_node *to);
/* Index of the first sent message of that type, or -1. */
int fz_find_sent(const struct fz_node *n, uint32_t type);

void fz_le32(uint8_t *p, uint32_t v);
uint32_t fz_get_le32(const uint8_t *p);
uint64_t fz_get_le64(const uint8_t *p);
void fz_le64(uint8_t *p, uint64_t v);

/* mac1 keyed with HASH("mac1----" || receiver's public key), as cookie.c does. */
void fz_mac1_key(uint8_t key[WG_KEY_LEN], const uint8_t receiver_public[WG_KEY_LEN]);
void fz_set_mac1(uint8_t *msg, size_t len, const uint8_t key[WG_KEY_LEN]);

/* HOPMESH_FUZZ_VERBOSE set in the environment: say what happened to each
 * message (for reading a reproducer, not for fuzzing). */
extern bool fz_verbose;
void fz_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stop with a message libFuzzer reports as a crash (an invariant is broken). */
void fz_fail(const char *what) __attribute__((noreturn));
#define FZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fz_fail(#cond); \
	} while (0)

#endif
