// SPDX-License-Identifier: MIT
/*
 * The sending side: data messages in bursts (any data thread), and the messages
 * the control thread originates (initiations, responses, keepalives) with the
 * timer events each one implies.
 */
#include <endian.h>
#include <string.h>

#include "wg.h"

/* The caller knows whether a peer without an endpoint is reachable (through a
 * relay), so it is asked even then; only what left is counted. */
static void send_to_peer(struct wg_peer *peer, const void *msg, size_t len,
			 const struct wg_endpoint *ep)
{
	struct wg_endpoint own;

	if (!ep) {
		wg_peer_endpoint(peer, &own);
		ep = &own;
	}
	if (peer->dev->ops.send(peer->dev->ops.ctx, peer, ep, msg, len))
		atomic_fetch_add_explicit(&peer->tx_bytes, len, memory_order_relaxed);
}

void wg_send_initiation(struct wg_peer *peer, bool is_retry, uint64_t now)
{
	struct wg_msg_initiation msg;

	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	if (peer->dead || wg_timers_handshake_held_off(peer, now))
		return;
	wg_timers_handshake_sent(peer, now);
	if (!wg_noise_create_initiation(peer, &msg, now))
		return;
	wg_cookie_add_macs(peer, (uint8_t *)&msg, sizeof(msg), now);
	wg_timers_any_authenticated_packet_traversal(peer, now);
	wg_timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, &msg, sizeof(msg), NULL);
	wg_timers_handshake_initiated(peer);
}

void wg_send_response(struct wg_peer *peer, uint64_t now)
{
	struct wg_msg_response msg;

	wg_timers_handshake_sent(peer, now);
	if (!wg_noise_create_response(peer, &msg))
		return;
	wg_cookie_add_macs(peer, (uint8_t *)&msg, sizeof(msg), now);
	if (!wg_noise_begin_session(peer, now))
		return;
	wg_timers_session_derived(peer, now);
	wg_timers_any_authenticated_packet_traversal(peer, now);
	wg_timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, &msg, sizeof(msg), NULL);
}

static uint32_t padded_length(uint32_t len, uint16_t mtu)
{
	uint32_t padded = (len + 15) & ~15u;
	uint32_t limit = mtu > len ? mtu : len;

	return padded < limit ? padded : limit;
}

static enum wg_drop encrypt_one(struct wg_crypto *c, struct wg_tx *tx, uint64_t now, bool *want)
{
	struct wg_peer *peer = tx->peer;
	struct wg_device *dev = peer->dev;
	struct wg_keypair *kp = atomic_load_explicit(&peer->current, memory_order_acquire);
	struct wg_msg_data *hdr = (struct wg_msg_data *)tx->msg;
	uint32_t padded;
	uint64_t nonce;

	if (!kp || !atomic_load_explicit(&kp->send_valid, memory_order_relaxed))
		return WG_DROP_NO_SESSION;
	if (now - kp->birth >= WG_REJECT_AFTER_TIME * NS_PER_S) {
		atomic_store(&kp->send_valid, false);
		return WG_DROP_NO_SESSION;
	}
	wg_peer_endpoint(peer, &tx->dst);
	/* The counter is the nonce: one atomic increment makes it unique per key
	 * however many threads send under that key. */
	nonce = atomic_fetch_add_explicit(&kp->send_counter, 1, memory_order_relaxed);
	if (nonce >= WG_REJECT_AFTER_MESSAGES) {
		atomic_store(&kp->send_valid, false);
		return WG_DROP_NO_SESSION;
	}

	padded = padded_length(tx->len, dev->mtu);
	memset(hdr->encrypted + tx->len, 0, padded - tx->len);
	hdr->type = htole32(WG_MSG_DATA);
	hdr->receiver = htole32(kp->remote_index);
	hdr->counter = htole64(nonce);
	if (!wg_aead_seal(c, hdr->encrypted, hdr->encrypted, padded, NULL, 0, nonce, kp->send_key))
		return WG_DROP_DECRYPT;
	tx->len = WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;

	/* Keep the key fresh: the initiator renews after REKEY_AFTER_TIME, anyone
	 * after REKEY_AFTER_MESSAGES. */
	*want = nonce >= WG_REKEY_AFTER_MESSAGES ||
		(kp->initiator && now - kp->birth >= dev->tuning.rekey_after_time_s * NS_PER_S);
	return WG_OK;
}

static void stamp(_Atomic uint64_t *at, uint64_t now)
{
	if (atomic_load_explicit(at, memory_order_relaxed) != now)
		atomic_store_explicit(at, now, memory_order_relaxed);
}

unsigned wg_encrypt_burst(struct wg_crypto *c, struct wg_tx *pkts, unsigned n, uint64_t now)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++) {
		struct wg_tx *tx = &pkts[i];
		struct wg_activity *act = &tx->peer->activity;
		bool want = false, data = tx->len > 0;

		tx->status = (uint8_t)encrypt_one(c, tx, now, &want);
		if (tx->status != WG_OK)
			continue;
		ok++;
		atomic_fetch_add_explicit(&tx->peer->tx_bytes, tx->len, memory_order_relaxed);
		stamp(&act->auth_sent, now);
		if (data)
			stamp(&act->data_sent, now);
		if (want && !(atomic_load_explicit(&act->want, memory_order_relaxed) & WG_WANT_HANDSHAKE))
			atomic_fetch_or(&act->want, WG_WANT_HANDSHAKE);
	}
	return ok;
}

/* A keepalive is an empty data message. If data is waiting for a session, that
 * data goes instead: it confirms the session just as well. */
void wg_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	uint8_t buf[WG_DATA_HEADER_LEN + WG_DATA_TAILROOM];
	struct wg_tx tx = { .peer = peer, .msg = buf, .len = 0 };
	bool want = false;

	if (peer->staged_count) {
		peer->dev->ops.session_ready(peer->dev->ops.ctx, peer);
		return;
	}
	tx.status = (uint8_t)encrypt_one(peer->dev->crypto, &tx, now, &want);
	if (tx.status == WG_DROP_NO_SESSION) {
		wg_send_initiation(peer, false, now);
		return;
	}
	if (tx.status != WG_OK)
		return;
	wg_timers_any_authenticated_packet_traversal(peer, now);
	wg_timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, buf, tx.len, &tx.dst);
	if (want)
		wg_send_initiation(peer, false, now);
}

void wg_peer_stage(struct wg_peer *peer, void *pkt, uint64_t now)
{
	if (peer->dead) {
		peer->dev->ops.free_staged(peer->dev->ops.ctx, pkt);
		return;
	}
	if (peer->staged_count == WG_MAX_STAGED_PACKETS) {
		peer->dev->ops.free_staged(peer->dev->ops.ctx, peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % WG_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	peer->staged[(peer->staged_head + peer->staged_count) % WG_MAX_STAGED_PACKETS] = pkt;
	peer->staged_count++;
	wg_send_initiation(peer, false, now);
}

unsigned wg_peer_unstage(struct wg_peer *peer, void **pkts, unsigned max)
{
	unsigned n = 0;

	while (n < max && peer->staged_count) {
		pkts[n++] = peer->staged[peer->staged_head];
		peer->staged_head = (peer->staged_head + 1) % WG_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	return n;
}

void wg_purge_staged(struct wg_peer *peer)
{
	void *pkt;

	while (wg_peer_unstage(peer, &pkt, 1))
		peer->dev->ops.free_staged(peer->dev->ops.ctx, pkt);
}
