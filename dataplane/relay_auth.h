/* SPDX-License-Identifier: MIT */
/*
 * Hop-by-hop authentication of relay frames (relay_auth.c, docs/PROTOCOL.md
 * "Relay tag"): each backbone hop's sender writes a tag into the relay header,
 * keyed by a key only it and the hop's receiver hold; the receiver checks it
 * before it relays or delivers anything. The WireGuard message behind the
 * header is read, never changed.
 */
#ifndef HOPMESH_DATAPLANE_RELAY_AUTH_H
#define HOPMESH_DATAPLANE_RELAY_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "tunnels.h"
#include "underlay.h"

/* The label the pair key is derived under (wg_peer_pair_key()); v2 since
 * the tag is SipHash (relay header version 3). */
#define RELAY_AUTH_LABEL "hopmesh relay hop v2"
/* The pair key: the first 16 bytes of what wg_peer_pair_key() derives,
 * SipHash's key. */
#define RELAY_KEY_LEN 16u
/* The shortest inner message a relay carries (a keepalive, 32 bytes) and the
 * longest one that is not data (an initiation, 148): covered whole. */
#define RELAY_MSG_MIN 32u
#define RELAY_MSG_WHOLE_MAX 148u

/* The key of one pair of gateways, published per gateway entry (routes.h)
 * and retired, never freed in place: a worker may be verifying with it. */
struct relay_key {
	uint8_t key[RELAY_KEY_LEN];
};

/* Main lcore: the key shared with peer's gateway; NULL if there is none (no
 * identity yet, degenerate DH) or no memory. */
struct relay_key *relay_key_new(const struct wg_peer *peer);
/* Zeroes and frees (the retire callback). */
void relay_key_free(void *key);

/* Whether an inner message of len bytes at msg may ride behind a relay
 * header: at least RELAY_MSG_MIN, and a message other than data at most
 * RELAY_MSG_WHOLE_MAX (the tag covers it whole). */
bool relay_msg_ok(const uint8_t *msg, uint32_t len);
/* The tag of r (its bytes before the tag, as they are now) on the hop
 * sender -> receiver, with the inner message msg of len bytes (all zero if
 * relay_msg_ok() does not hold). */
void relay_tag(uint8_t tag[RELAY_TAG_LEN], const struct relay_key *k, const struct relay_hdr *r,
	       uint16_t sender, uint16_t receiver, const uint8_t *msg, uint32_t len);
/* Writes the tag into r. */
void relay_sign(const struct relay_key *k, struct relay_hdr *r, uint16_t sender,
		uint16_t receiver, const uint8_t *msg, uint32_t len);
/* Whether r's tag is the one relay_tag() gives (compared in constant time). */
bool relay_verify(const struct relay_key *k, const struct relay_hdr *r, uint16_t sender,
		  uint16_t receiver, const uint8_t *msg, uint32_t len);
/* The gateway that sent r on its current hop: the source on hop 1, else the
 * relay before us (host order; r's hop must be 1..path_len). */
uint16_t relay_prev_hop(const struct relay_hdr *r);

#endif
