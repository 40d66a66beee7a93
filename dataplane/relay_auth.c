// SPDX-License-Identifier: MIT
/*
 * The relay tag (docs/PROTOCOL.md "Relay tag"):
 *
 *   relay_key_new(): K(a,b) = HKDF(HASH(label || both public keys), static-
 *     static DH), once per gateway entry bound to a peer (routes.c), by
 *     tunnels/ (the DH never leaves it)
 *   relay_tag(): BLAKE2b-128 keyed by K over the header's first 16 bytes as
 *     sent on this hop, sender id, receiver id, the inner length, and the
 *     inner message: a data message's first and last 16 bytes (type, receiver
 *     index, counter; the Poly1305 tag), any other message whole
 *   relay_sign(): the sender of each hop (underlay.c, ingress.c's relay_forward)
 *   relay_verify(): the receiver of each hop (ingress.c's relay_check)
 *
 * Why a data message is not covered whole: its Poly1305 tag already binds
 * every byte end to end, so a change in between costs the attacker a drop at
 * the destination and buys nothing; covering 32 bytes keeps the cost per
 * relayed packet constant. A handshake message is covered whole: mac1 is
 * keyed by a public key, so anyone could recompute it over changed bytes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "relay_auth.h"

_Static_assert(offsetof(struct relay_hdr, tag) == 16, "the tag covers the 16 bytes before it");

struct relay_key *relay_key_new(const struct wg_peer *peer)
{
	struct relay_key *k = malloc(sizeof(*k));

	if (k && !wg_peer_pair_key(peer, RELAY_AUTH_LABEL, k->key)) {
		free(k);
		k = NULL;
	}
	return k;
}

void relay_key_free(void *key)
{
	if (key)
		sodium_memzero(key, sizeof(struct relay_key));
	free(key);
}

static bool is_data(const uint8_t *msg)
{
	return msg[0] == WG_MSG_DATA && !msg[1] && !msg[2] && !msg[3];
}

bool relay_msg_ok(const uint8_t *msg, uint32_t len)
{
	return len >= RELAY_MSG_MIN && len <= UINT16_MAX && (is_data(msg) || len <= RELAY_MSG_WHOLE_MAX);
}

void relay_tag(uint8_t tag[RELAY_TAG_LEN], const struct relay_key *k, const struct relay_hdr *r,
	       uint16_t sender, uint16_t receiver, const uint8_t *msg, uint32_t len)
{
	crypto_generichash_blake2b_state st;
	uint8_t ids[6] = { (uint8_t)(sender >> 8), (uint8_t)sender, (uint8_t)(receiver >> 8),
			   (uint8_t)receiver, (uint8_t)(len >> 8), (uint8_t)len };

	crypto_generichash_blake2b_init(&st, k->key, sizeof(k->key), RELAY_TAG_LEN);
	crypto_generichash_blake2b_update(&st, (const uint8_t *)r, offsetof(struct relay_hdr, tag));
	crypto_generichash_blake2b_update(&st, ids, sizeof(ids));
	if (is_data(msg)) {
		crypto_generichash_blake2b_update(&st, msg, 16);
		crypto_generichash_blake2b_update(&st, msg + len - 16, 16);
	} else {
		crypto_generichash_blake2b_update(&st, msg, len);
	}
	crypto_generichash_blake2b_final(&st, tag, RELAY_TAG_LEN);
}

void relay_sign(const struct relay_key *k, struct relay_hdr *r, uint16_t sender,
		uint16_t receiver, const uint8_t *msg, uint32_t len)
{
	relay_tag(r->tag, k, r, sender, receiver, msg, len);
}

bool relay_verify(const struct relay_key *k, const struct relay_hdr *r, uint16_t sender,
		  uint16_t receiver, const uint8_t *msg, uint32_t len)
{
	uint8_t want[RELAY_TAG_LEN];

	relay_tag(want, k, r, sender, receiver, msg, len);
	return crypto_verify_16(want, r->tag) == 0;
}

uint16_t relay_prev_hop(const struct relay_hdr *r)
{
	return ntohs(r->hop > 1 ? r->path[r->hop - 2] : r->src_gw);
}
