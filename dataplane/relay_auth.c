// SPDX-License-Identifier: MIT
/*
 * The relay tag (docs/PROTOCOL.md "Relay tag"):
 *
 *   relay_key_new(): K(a,b) = HKDF(HASH(label || both public keys), static-
 *     static DH), first 16 bytes, once per gateway entry bound to a peer
 *     (routes.c), by tunnels/ (the DH never leaves it)
 *   relay_tag(): SipHash-2-4-128 keyed by K over the header's first 16 bytes
 *     as sent on this hop, sender id, receiver id, the inner length, and the
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
 *
 * Why SipHash: a relay verifies one tag and writes one per packet. With
 * keyed BLAKE2b (about 1,100 cycles a tag against SipHash's 80) a relayed
 * packet cost 3.7 times a decrypted one at 64 bytes; with SipHash, half
 * (perf/bench_pipeline's relay rows, docs/PERFORMANCE.md). SipHash is a PRF made for short
 * inputs, with a 128-bit key, as a MAC of 128 bits here; a forgery must be
 * sent to be tried, one frame per guess.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "relay_auth.h"

_Static_assert(offsetof(struct relay_hdr, tag) == 16, "the tag covers the 16 bytes before it");
_Static_assert(RELAY_KEY_LEN == crypto_shorthash_siphashx24_KEYBYTES, "SipHash's key");
_Static_assert(RELAY_TAG_LEN == crypto_shorthash_siphashx24_BYTES, "SipHash-128's output");

/* What the tag covers, at most: header, ids and length, a whole message. */
#define COVERED_MAX (16u + 6u + RELAY_MSG_WHOLE_MAX)

struct relay_key *relay_key_new(const struct wg_peer *peer)
{
	struct relay_key *k = malloc(sizeof(*k));
	uint8_t full[WG_KEY_LEN];

	if (k && wg_peer_pair_key(peer, RELAY_AUTH_LABEL, full)) {
		memcpy(k->key, full, sizeof(k->key));
	} else {
		free(k);
		k = NULL;
	}
	sodium_memzero(full, sizeof(full));
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
	uint8_t in[COVERED_MAX];
	size_t n = offsetof(struct relay_hdr, tag);

	/* A message relay_msg_ok() refuses is never tagged: all zero, which
	 * relay_verify() never accepts. */
	if (!relay_msg_ok(msg, len)) {
		memset(tag, 0, RELAY_TAG_LEN);
		return;
	}
	/* libsodium's SipHash takes one buffer: the covered bytes in order. */
	memcpy(in, r, n);
	in[n++] = (uint8_t)(sender >> 8);
	in[n++] = (uint8_t)sender;
	in[n++] = (uint8_t)(receiver >> 8);
	in[n++] = (uint8_t)receiver;
	in[n++] = (uint8_t)(len >> 8);
	in[n++] = (uint8_t)len;
	if (is_data(msg)) {
		memcpy(in + n, msg, 16);
		memcpy(in + n + 16, msg + len - 16, 16);
		n += 32;
	} else {
		memcpy(in + n, msg, len);
		n += len;
	}
	crypto_shorthash_siphashx24(tag, in, n, k->key);
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

	if (!relay_msg_ok(msg, len))
		return false;
	relay_tag(want, k, r, sender, receiver, msg, len);
	return crypto_verify_16(want, r->tag) == 0;
}

uint16_t relay_prev_hop(const struct relay_hdr *r)
{
	return ntohs(r->hop > 1 ? r->path[r->hop - 2] : r->src_gw);
}
