// SPDX-License-Identifier: MIT
/* The device: identity, its peers, and the control thread's periodic work. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg.h"

static const char *const drop_names[WG_DROP__COUNT] = {
	[WG_OK] = "ok",
	[WG_DROP_MALFORMED] = "malformed",
	[WG_DROP_MAC1] = "bad_mac1",
	[WG_DROP_MAC2] = "cookie_required",
	[WG_DROP_RATELIMITED] = "handshake_ratelimited",
	[WG_DROP_HANDSHAKE] = "handshake_invalid",
	[WG_DROP_REPLAYED_INITIATION] = "handshake_replayed",
	[WG_DROP_FLOOD] = "handshake_flood",
	[WG_DROP_COOKIE] = "cookie_invalid",
	[WG_DROP_UNKNOWN_INDEX] = "unknown_index",
	[WG_DROP_KEY_EXPIRED] = "key_expired",
	[WG_DROP_DECRYPT] = "decrypt_failed",
	[WG_DROP_REPLAY] = "replayed",
	[WG_DROP_INNER_MALFORMED] = "inner_malformed",
	[WG_DROP_ALLOWEDIPS] = "source_not_allowed",
	[WG_DROP_NO_SESSION] = "no_session",
	[WG_DROP_NO_ENDPOINT] = "no_endpoint",
	[WG_DROP_NO_IDENTITY] = "no_private_key",
};

const char *wg_drop_name(enum wg_drop reason)
{
	return (unsigned)reason < WG_DROP__COUNT ? drop_names[reason] : "unknown";
}

static bool default_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
			 const uint8_t *msg, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)msg, (void)len;
	return false;
}

static void default_session_ready(void *ctx, struct wg_peer *peer)
{
	(void)ctx, (void)peer;
}

static void default_free_staged(void *ctx, void *pkt)
{
	(void)ctx;
	free(pkt);
}

struct wg_device *wg_device_new(const struct wg_ops *ops, unsigned index_bits)
{
	struct wg_device *dev;

	if (!wg_crypto_global_init())
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	if (ops)
		dev->ops = *ops;
	if (!dev->ops.send)
		dev->ops.send = default_send;
	if (!dev->ops.session_ready)
		dev->ops.session_ready = default_session_ready;
	if (!dev->ops.free_staged)
		dev->ops.free_staged = default_free_staged;
	dev->tuning.rekey_after_time_s = WG_REKEY_AFTER_TIME;
	dev->tuning.under_load_backlog = 4096 / 8;
	dev->mtu = 1420;
	dev->crypto = wg_crypto_new();
	dev->ratelimiter = wg_ratelimiter_new();
	if (!dev->crypto || !dev->ratelimiter || !wg_index_init(&dev->index, index_bits)) {
		wg_device_free(dev);
		return NULL;
	}
	return dev;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	while (dev->peers)
		wg_peer_remove(dev, dev->peers);
	wg_aip_destroy(&dev->allowedips);
	wg_index_destroy(&dev->index);
	wg_ratelimiter_free(dev->ratelimiter);
	wg_crypto_free(dev->crypto);
	wg_memzero(dev, sizeof(*dev));
	free(dev);
}

void wg_device_set_private_key(struct wg_device *dev, const uint8_t raw[WG_KEY_LEN], uint64_t now)
{
	uint8_t pub[WG_KEY_LEN], key[WG_KEY_LEN];
	struct wg_peer *p, *next;

	(void)now;
	/* Stored clamped, as the kernel and wireguard-go do, so that reading the
	 * key back (wg showconf) gives the scalar actually in use. */
	memcpy(key, raw, WG_KEY_LEN);
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
	if (wg_is_zero(raw, WG_KEY_LEN) || !wg_pubkey(pub, key)) {
		if (!dev->has_identity)
			return;
		dev->has_identity = false;
		wg_memzero(dev->static_private, WG_KEY_LEN);
		memset(dev->static_public, 0, WG_KEY_LEN);
		wg_cookie_checker_precompute(&dev->cookie_checker, NULL);
	} else {
		if (dev->has_identity && wg_equal(key, dev->static_private, WG_KEY_LEN)) {
			wg_memzero(key, sizeof(key));
			return;
		}
		/* A peer with our own public key would be talking to itself. */
		if ((p = wg_peer_lookup(dev, pub)))
			wg_peer_remove(dev, p);
		memcpy(dev->static_private, key, WG_KEY_LEN);
		memcpy(dev->static_public, pub, WG_KEY_LEN);
		dev->has_identity = true;
		wg_cookie_checker_precompute(&dev->cookie_checker, pub);
	}
	wg_memzero(key, sizeof(key));
	for (p = dev->peers; p; p = next) {
		next = p->next_in_list;
		wg_handshake_precompute(p);
		wg_noise_expire_current_keypairs(p);
	}
}

bool wg_device_public_key(const struct wg_device *dev, uint8_t out[WG_KEY_LEN])
{
	if (dev->has_identity)
		memcpy(out, dev->static_public, WG_KEY_LEN);
	return dev->has_identity;
}

uint16_t wg_device_listen_port(const struct wg_device *dev)
{
	return atomic_load_explicit(&dev->listen_port, memory_order_relaxed);
}

/* Port 0 picks one from the dynamic range, as a socket bound to port 0 gets
 * one from the kernel (wg set NAME listen-port 0 on wireguard-go or the
 * kernel module): a device on port 0 would receive nothing at all. */
void wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	if (!port)
		port = (uint16_t)(49152 + wg_random_below(16384));
	atomic_store(&dev->listen_port, port);
}

void wg_device_set_mtu(struct wg_device *dev, uint16_t mtu)
{
	dev->mtu = mtu;
}

void wg_device_get_tuning(const struct wg_device *dev, struct wg_tuning *t)
{
	*t = dev->tuning;
}

void wg_device_set_tuning(struct wg_device *dev, const struct wg_tuning *t)
{
	dev->tuning = *t;
	if (!dev->tuning.rekey_after_time_s)
		dev->tuning.rekey_after_time_s = WG_REKEY_AFTER_TIME;
}

void wg_device_commit_allowedips(struct wg_device *dev)
{
	struct wg_aip_table *old[2];

	if (!dev->allowedips.dirty)
		return;
	wg_aip_publish(&dev->allowedips, old);
	for (int i = 0; i < 2; i++)
		if (old[i])
			wg_retire(dev, old[i], wg_aip_table_free);
}

struct wg_peer *wg_allowedips_lookup(const struct wg_device *dev, sa_family_t family, const void *addr)
{
	return wg_aip_lookup(&dev->allowedips, family, addr);
}

void wg_device_for_each_peer(struct wg_device *dev, bool (*fn)(struct wg_peer *, void *), void *arg)
{
	struct wg_peer *p, *next;

	for (p = dev->peers; p; p = next) {
		next = p->next_in_list;
		if (!fn(p, arg))
			return;
	}
}

unsigned wg_device_peer_count(const struct wg_device *dev)
{
	return dev->peer_count;
}

/* Activity the data threads stamped since the last tick becomes timer events,
 * in the order it happened. */
enum activity_kind { AUTH_RECEIVED, DATA_RECEIVED, AUTH_SENT, DATA_SENT };

static void apply_activity(struct wg_peer *peer, enum activity_kind kind, uint64_t at)
{
	switch (kind) {
	case AUTH_RECEIVED:
		wg_timers_any_authenticated_packet_received(peer);
		wg_timers_any_authenticated_packet_traversal(peer, at);
		break;
	case DATA_RECEIVED:
		wg_timers_data_received(peer, at);
		break;
	case AUTH_SENT:
		wg_timers_any_authenticated_packet_traversal(peer, at);
		wg_timers_any_authenticated_packet_sent(peer);
		break;
	case DATA_SENT:
		wg_timers_data_sent(peer, at);
		break;
	}
}

static void collect_activity(struct wg_peer *peer)
{
	struct wg_activity *a = &peer->activity;
	uint64_t *seen[4] = { &peer->seen_auth_received, &peer->seen_data_received,
			      &peer->seen_auth_sent, &peer->seen_data_sent };
	uint64_t now[4] = {
		atomic_load_explicit(&a->auth_received, memory_order_relaxed),
		atomic_load_explicit(&a->data_received, memory_order_relaxed),
		atomic_load_explicit(&a->auth_sent, memory_order_relaxed),
		atomic_load_explicit(&a->data_sent, memory_order_relaxed),
	};
	int order[4], n = 0;

	for (int k = 0; k < 4; k++) {
		if (now[k] == *seen[k])
			continue;
		*seen[k] = now[k];
		int j = n++;
		while (j > 0 && now[order[j - 1]] > now[k]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	for (int i = 0; i < n; i++)
		apply_activity(peer, (enum activity_kind)order[i], now[order[i]]);
}

static void handle_wants(struct wg_peer *peer, uint64_t now)
{
	uint32_t want = atomic_exchange(&peer->activity.want, 0);

	if ((want & WG_WANT_CONFIRM) && wg_noise_confirm_next(peer)) {
		wg_timers_handshake_complete(peer);
		if (peer->staged_count)
			peer->dev->ops.session_ready(peer->dev->ops.ctx, peer);
	}
	if (want & WG_WANT_HANDSHAKE)
		wg_send_initiation(peer, false, now);
	if ((want & WG_WANT_LASTMINUTE) && !peer->timers.sent_lastminute_handshake) {
		peer->timers.sent_lastminute_handshake = true;
		wg_send_initiation(peer, false, now);
	}
}

void wg_device_tick(struct wg_device *dev, uint64_t now)
{
	struct wg_peer *p, *next;

	for (p = dev->peers; p; p = next) {
		next = p->next_in_list;
		collect_activity(p);
		handle_wants(p, now);
		wg_timers_tick(p, now);
	}
}

uint64_t wg_wall_ns(struct wg_device *dev)
{
	struct timespec ts;

	if (dev->ops.wall_ns)
		return dev->ops.wall_ns(dev->ops.ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void wg_retire(struct wg_device *dev, void *obj, void (*destroy)(void *))
{
	if (dev->ops.retire)
		dev->ops.retire(dev->ops.ctx, obj, destroy);
	else
		destroy(obj);
}

void wg_log(struct wg_device *dev, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (dev->ops.log)
		dev->ops.log(dev->ops.ctx, level, line);
	else
		fprintf(stderr, "tunnels: %s\n", line);
}
