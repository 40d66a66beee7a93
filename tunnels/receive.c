// SPDX-License-Identifier: MIT
/*
 * The receiving side: data messages in bursts (a data thread), and handshake
 * messages (the control thread), each checked in the order that spends the
 * least work on what will be dropped: length, then index or mac1, then crypto.
 */
#include <endian.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>

#include "wg.h"

#define LASTMINUTE_AGE (WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT)

static void want(struct wg_activity *act, uint32_t bit, bool *attention)
{
	if (!(atomic_load_explicit(&act->want, memory_order_relaxed) & bit))
		atomic_fetch_or(&act->want, bit);
	*attention = true;
}

/* The inner packet's own length (padding removed) and source address. Read a
 * byte at a time: the dataplane's packets sit 2 bytes off a 4-byte boundary
 * (behind Ethernet, IPv4 and UDP headers), too little for struct iphdr. */
static bool inner_packet(const uint8_t *p, uint32_t len, uint32_t *out_len, sa_family_t *family,
			 const void **src)
{
	if (len >= sizeof(struct iphdr) && (p[0] >> 4) == 4) {
		uint32_t ihl = p[0] & 15u;
		uint32_t total = (uint32_t)p[2] << 8 | p[3];

		if (ihl < 5 || total < ihl * 4u || total > len)
			return false;
		*out_len = total;
		*family = AF_INET;
		*src = p + offsetof(struct iphdr, saddr);
		return true;
	}
	if (len >= sizeof(struct ip6_hdr) && (p[0] >> 4) == 6) {
		uint32_t total = sizeof(struct ip6_hdr) + ((uint32_t)p[4] << 8 | p[5]);

		if (total > len)
			return false;
		*out_len = total;
		*family = AF_INET6;
		*src = p + offsetof(struct ip6_hdr, ip6_src);
		return true;
	}
	return false;
}

static struct wg_keypair *keypair_of(struct wg_index_entry *e)
{
	return (struct wg_keypair *)((char *)e - offsetof(struct wg_keypair, entry));
}

static enum wg_drop decrypt_one(struct wg_crypto *c, struct wg_device *dev, struct wg_rx *rx,
				uint64_t now, bool *attention)
{
	const struct wg_msg_data *hdr = (const void *)rx->msg;
	struct wg_index_entry *e;
	struct wg_keypair *kp, *cur;
	struct wg_peer *peer;
	struct wg_activity *act;
	uint32_t clen, plain;
	uint64_t counter;
	sa_family_t family;
	const void *src;

	if (rx->len < WG_DATA_MIN_LEN || le32toh(hdr->type) != WG_MSG_DATA)
		return WG_DROP_MALFORMED;
	e = wg_index_lookup(&dev->index, le32toh(hdr->receiver), WG_INDEX_KEYPAIR);
	if (!e)
		return WG_DROP_UNKNOWN_INDEX;
	kp = keypair_of(e);
	peer = e->peer;
	if (!atomic_load_explicit(&kp->recv_valid, memory_order_relaxed) ||
	    now - kp->birth >= WG_REJECT_AFTER_TIME * NS_PER_S ||
	    kp->replay.next >= WG_REJECT_AFTER_MESSAGES) {
		atomic_store(&kp->recv_valid, false);
		return WG_DROP_KEY_EXPIRED;
	}
	counter = le64toh(hdr->counter);
	clen = rx->len - WG_DATA_HEADER_LEN;
	if (!wg_aead_open(c, rx->msg + WG_DATA_HEADER_LEN, rx->msg + WG_DATA_HEADER_LEN, clen, NULL,
			  0, counter, kp->recv_key))
		return WG_DROP_DECRYPT;
	/* Only now that it is authentic may the counter move the window. */
	if (!wg_replay_check(&kp->replay, counter))
		return WG_DROP_REPLAY;

	rx->peer = peer;
	act = &peer->activity;
	if (!rx->relayed)
		wg_peer_endpoint_update(peer, &rx->src);
	atomic_fetch_add_explicit(&peer->rx_bytes, rx->len, memory_order_relaxed);
	if (!atomic_load_explicit(&kp->received, memory_order_relaxed)) {
		atomic_store(&kp->received, true);
		if (kp == atomic_load_explicit(&peer->next, memory_order_relaxed))
			want(act, WG_WANT_CONFIRM, attention);
	}
	/* As the kernel's keep_key_fresh(): the age of the current session counts,
	 * whichever session this packet came under. */
	cur = atomic_load_explicit(&peer->current, memory_order_relaxed);
	if (cur && cur->initiator && atomic_load_explicit(&cur->send_valid, memory_order_relaxed) &&
	    now - cur->birth >= LASTMINUTE_AGE * NS_PER_S)
		want(act, WG_WANT_LASTMINUTE, attention);
	if (atomic_load_explicit(&act->auth_received, memory_order_relaxed) != now)
		atomic_store_explicit(&act->auth_received, now, memory_order_relaxed);

	plain = clen - WG_TAG_LEN;
	rx->plain = rx->msg + WG_DATA_HEADER_LEN;
	rx->plain_len = 0;
	if (plain == 0) {
		rx->keepalive = true;
		return WG_OK;
	}
	if (atomic_load_explicit(&act->data_received, memory_order_relaxed) != now)
		atomic_store_explicit(&act->data_received, now, memory_order_relaxed);
	if (!inner_packet(rx->plain, plain, &rx->plain_len, &family, &src))
		return WG_DROP_INNER_MALFORMED;
	if (wg_aip_lookup(&dev->allowedips, family, src) != peer)
		return WG_DROP_ALLOWEDIPS;
	return WG_OK;
}

unsigned wg_decrypt_burst(struct wg_crypto *c, struct wg_device *dev, struct wg_rx *pkts,
			  unsigned n, uint64_t now, bool *attention)
{
	unsigned deliver = 0;

	for (unsigned i = 0; i < n; i++) {
		struct wg_rx *rx = &pkts[i];

		rx->peer = NULL;
		rx->keepalive = false;
		rx->status = (uint8_t)decrypt_one(c, dev, rx, now, attention);
		if (rx->status == WG_OK && !rx->keepalive)
			deliver++;
	}
	return deliver;
}

static size_t expected_length(uint32_t type)
{
	switch (type) {
	case WG_MSG_INITIATION:
		return WG_INITIATION_LEN;
	case WG_MSG_RESPONSE:
		return WG_RESPONSE_LEN;
	case WG_MSG_COOKIE:
		return WG_COOKIE_LEN;
	default:
		return 0;
	}
}

/* Under load from the moment the backlog crosses the threshold until a second
 * after it last did, so an attacker cannot toggle it with bursts. */
static bool under_load(struct wg_device *dev, unsigned backlog, uint64_t now)
{
	if (dev->tuning.force_under_load || backlog >= dev->tuning.under_load_backlog) {
		dev->last_under_load = now;
		return true;
	}
	if (dev->last_under_load && now - dev->last_under_load < NS_PER_S)
		return true;
	dev->last_under_load = 0;
	return false;
}

static enum wg_drop handshake_rx(struct wg_device *dev, const uint8_t *msg, size_t len,
				 const struct wg_endpoint *from, unsigned backlog, uint64_t now,
				 bool relayed)
{
	uint32_t type, sender;
	enum wg_mac_state mac;
	struct wg_msg_cookie reply;
	struct wg_peer *peer;
	enum wg_drop why;
	bool loaded;

	if (len < 4)
		return WG_DROP_MALFORMED;
	memcpy(&type, msg, 4);
	type = le32toh(type);
	if (!expected_length(type) || len != expected_length(type))
		return WG_DROP_MALFORMED;
	if (type == WG_MSG_COOKIE)
		return wg_cookie_reply_consume(dev, (const void *)msg, now);
	if (!dev->has_identity)
		return WG_DROP_NO_IDENTITY;

	loaded = under_load(dev, backlog, now);
	mac = wg_cookie_validate(dev, msg, len, from, loaded, now);
	if (mac == WG_MAC_INVALID)
		return WG_DROP_MAC1;
	if (mac == WG_MAC_VALID_COOKIE_RATELIMITED)
		return WG_DROP_RATELIMITED;
	if (loaded && mac == WG_MAC_VALID_NO_COOKIE) {
		memcpy(&sender, msg + 4, 4); /* both messages carry the sender index here */
		wg_cookie_reply_create(dev, &reply, msg, len, sender, from, now);
		(void)dev->ops.send(dev->ops.ctx, NULL, from, (const uint8_t *)&reply, sizeof(reply));
		return WG_DROP_MAC2;
	}

	if (type == WG_MSG_INITIATION) {
		peer = wg_noise_consume_initiation(dev, (const void *)msg, now, &why);
		if (!peer)
			return why;
		if (!relayed)
			wg_peer_endpoint_update(peer, from);
		wg_send_response(peer, now);
		if (peer->handshake.crossed)
			wg_timers_handshake_crossed(peer);
	} else {
		peer = wg_noise_consume_response(dev, (const void *)msg);
		if (!peer)
			return WG_DROP_HANDSHAKE;
		if (!relayed)
			wg_peer_endpoint_update(peer, from);
		if (wg_noise_begin_session(peer, now)) {
			wg_timers_session_derived(peer, now);
			wg_timers_handshake_complete(peer);
			/* Confirms the session to the responder at once, with staged
			 * data if there is any. */
			wg_send_keepalive(peer, now);
		}
	}
	atomic_fetch_add_explicit(&peer->rx_bytes, len, memory_order_relaxed);
	wg_timers_any_authenticated_packet_received(peer);
	wg_timers_any_authenticated_packet_traversal(peer, now);
	return WG_OK;
}

enum wg_drop wg_device_handshake_rx(struct wg_device *dev, const uint8_t *msg, size_t len,
				    const struct wg_endpoint *from, unsigned backlog, uint64_t now)
{
	return handshake_rx(dev, msg, len, from, backlog, now, false);
}

enum wg_drop wg_device_handshake_rx_relayed(struct wg_device *dev, const uint8_t *msg,
					    size_t len, const struct wg_endpoint *from,
					    unsigned backlog, uint64_t now)
{
	return handshake_rx(dev, msg, len, from, backlog, now, true);
}
