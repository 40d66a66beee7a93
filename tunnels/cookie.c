// SPDX-License-Identifier: MIT
/*
 * mac1, mac2 and cookie replies (whitepaper section 5.4.7).
 *
 * mac1 on every handshake message proves the sender knows our public key, and is
 * checked before any Curve25519 work. Under load we additionally demand mac2, a
 * MAC keyed with a cookie only the holder of the source address can have
 * received; without it we answer with a cookie reply instead of a handshake.
 */
#include <endian.h>
#include <string.h>

#include "wg.h"

static const char label_mac1[8] = "mac1----";
static const char label_cookie[8] = "cookie--";

void wg_cookie_checker_precompute(struct wg_cookie_checker *c, const uint8_t *public_key)
{
	if (!public_key) {
		wg_memzero(c->mac1_key, sizeof(c->mac1_key));
		wg_memzero(c->encryption_key, sizeof(c->encryption_key));
		return;
	}
	wg_hash(c->mac1_key, label_mac1, sizeof(label_mac1), public_key, WG_KEY_LEN);
	wg_hash(c->encryption_key, label_cookie, sizeof(label_cookie), public_key, WG_KEY_LEN);
}

void wg_cookie_peer_precompute(struct wg_peer_cookie *pc, const uint8_t public_key[WG_KEY_LEN])
{
	wg_hash(pc->mac1_key, label_mac1, sizeof(label_mac1), public_key, WG_KEY_LEN);
	wg_hash(pc->decryption_key, label_cookie, sizeof(label_cookie), public_key, WG_KEY_LEN);
}

static void compute_mac1(uint8_t out[WG_MAC_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[WG_KEY_LEN])
{
	wg_mac(out, key, WG_KEY_LEN, msg, len - sizeof(struct wg_msg_macs), NULL, 0);
}

static void compute_mac2(uint8_t out[WG_MAC_LEN], const uint8_t *msg, size_t len,
			 const uint8_t cookie[WG_MAC_LEN])
{
	wg_mac(out, cookie, WG_MAC_LEN, msg, len - WG_MAC_LEN, NULL, 0);
}

/* The cookie is a MAC of the source address and port under a secret that changes
 * every two minutes, so it is only ever useful from the address it was sent to. */
static void make_cookie(struct wg_cookie_checker *c, uint8_t cookie[WG_MAC_LEN],
			const struct wg_endpoint *from, uint64_t now)
{
	uint8_t port[2] = { (uint8_t)(from->port >> 8), (uint8_t)from->port };

	if (!c->secret_birth || now - c->secret_birth > WG_COOKIE_SECRET_MAX_AGE * NS_PER_S) {
		wg_random(c->secret, sizeof(c->secret));
		c->secret_birth = now ? now : 1;
	}
	if (from->family == AF_INET6)
		wg_mac(cookie, c->secret, sizeof(c->secret), &from->addr.v6, 16, port, 2);
	else
		wg_mac(cookie, c->secret, sizeof(c->secret), &from->addr.v4, 4, port, 2);
}

enum wg_mac_state wg_cookie_validate(struct wg_device *dev, const uint8_t *msg, size_t len,
				     const struct wg_endpoint *from, bool check_cookie, uint64_t now)
{
	const struct wg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t computed[WG_MAC_LEN], cookie[WG_MAC_LEN];

	compute_mac1(computed, msg, len, dev->cookie_checker.mac1_key);
	if (!wg_equal(computed, macs->mac1, WG_MAC_LEN))
		return WG_MAC_INVALID;
	if (!check_cookie)
		return WG_MAC_VALID_NO_COOKIE;
	make_cookie(&dev->cookie_checker, cookie, from, now);
	compute_mac2(computed, msg, len, cookie);
	if (!wg_equal(computed, macs->mac2, WG_MAC_LEN))
		return WG_MAC_VALID_NO_COOKIE;
	if (!wg_ratelimiter_allow(dev->ratelimiter, from, now))
		return WG_MAC_VALID_COOKIE_RATELIMITED;
	return WG_MAC_VALID_COOKIE;
}

void wg_cookie_add_macs(struct wg_peer *peer, uint8_t *msg, size_t len, uint64_t now)
{
	struct wg_msg_macs *macs = (void *)(msg + len - sizeof(*macs));
	struct wg_peer_cookie *pc = &peer->cookie;

	compute_mac1(macs->mac1, msg, len, pc->mac1_key);
	memcpy(pc->last_mac1_sent, macs->mac1, WG_MAC_LEN);
	pc->have_sent_mac1 = true;

	if (pc->valid &&
	    now - pc->birth < (WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY) * NS_PER_S)
		compute_mac2(macs->mac2, msg, len, pc->cookie);
	else
		memset(macs->mac2, 0, WG_MAC_LEN);
}

void wg_cookie_reply_create(struct wg_device *dev, struct wg_msg_cookie *dst, const uint8_t *msg,
			    size_t len, uint32_t sender, const struct wg_endpoint *from, uint64_t now)
{
	const struct wg_msg_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t cookie[WG_MAC_LEN];

	dst->type = htole32(WG_MSG_COOKIE);
	dst->receiver = sender; /* already little-endian, as it came */
	wg_random(dst->nonce, sizeof(dst->nonce));
	make_cookie(&dev->cookie_checker, cookie, from, now);
	wg_xaead_seal(dst->encrypted_cookie, cookie, WG_MAC_LEN, macs->mac1, WG_MAC_LEN, dst->nonce,
		      dev->cookie_checker.encryption_key);
}

enum wg_drop wg_cookie_reply_consume(struct wg_device *dev, const struct wg_msg_cookie *src,
				     uint64_t now)
{
	struct wg_index_entry *e = wg_index_lookup(&dev->index, le32toh(src->receiver),
						   WG_INDEX_HANDSHAKE | WG_INDEX_KEYPAIR);
	struct wg_peer_cookie *pc;
	uint8_t cookie[WG_MAC_LEN];

	if (!e)
		return WG_DROP_UNKNOWN_INDEX;
	pc = &e->peer->cookie;
	if (!pc->have_sent_mac1)
		return WG_DROP_COOKIE;
	if (!wg_xaead_open(cookie, src->encrypted_cookie, sizeof(src->encrypted_cookie),
			   pc->last_mac1_sent, WG_MAC_LEN, src->nonce, pc->decryption_key))
		return WG_DROP_COOKIE;
	memcpy(pc->cookie, cookie, WG_MAC_LEN);
	pc->birth = now;
	pc->valid = true;
	pc->have_sent_mac1 = false;
	return WG_OK;
}
