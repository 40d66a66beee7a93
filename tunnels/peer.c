// SPDX-License-Identifier: MIT
/* Peers: creation, lookup by public key, removal, endpoint and settings. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

static unsigned bucket_of(const uint8_t key[WG_KEY_LEN])
{
	/* Public keys are uniformly distributed and only the operator adds peers,
	 * so their first bytes are a fine hash. */
	return (key[0] | key[1] << 8) % WG_PEER_BUCKETS;
}

struct wg_peer *wg_peer_lookup(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	for (struct wg_peer *p = dev->buckets[bucket_of(public_key)]; p; p = p->next_in_bucket)
		if (!memcmp(p->public_key, public_key, WG_KEY_LEN))
			return p;
	return NULL;
}

struct wg_peer *wg_peer_add(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer *peer;
	unsigned b = bucket_of(public_key);

	if (wg_peer_lookup(dev, public_key))
		return NULL;
	if (dev->has_identity && !memcmp(public_key, dev->static_public, WG_KEY_LEN))
		return NULL;
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return NULL;
	peer->dev = dev;
	memcpy(peer->public_key, public_key, WG_KEY_LEN);
	peer->endpoint.family = AF_UNSPEC;
	atomic_flag_clear(&peer->endpoint_writer);
	wg_handshake_init_peer(peer);
	wg_cookie_peer_precompute(&peer->cookie, public_key);

	peer->next_in_bucket = dev->buckets[b];
	dev->buckets[b] = peer;
	if (dev->peers_tail)
		dev->peers_tail->next_in_list = peer;
	else
		dev->peers = peer;
	dev->peers_tail = peer;
	dev->peer_count++;
	if (dev->ops.peer_added)
		dev->ops.peer_added(dev->ops.ctx, peer);
	return peer;
}

static void peer_destroy(void *obj)
{
	struct wg_peer *peer = obj;

	wg_memzero(peer, sizeof(*peer));
	free(peer);
}

static void unlink_peer(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer **pp, *prev = NULL;

	for (pp = &dev->buckets[bucket_of(peer->public_key)]; *pp; pp = &(*pp)->next_in_bucket) {
		if (*pp == peer) {
			*pp = peer->next_in_bucket;
			break;
		}
	}
	for (pp = &dev->peers; *pp; prev = *pp, pp = &(*pp)->next_in_list) {
		if (*pp == peer) {
			*pp = peer->next_in_list;
			if (dev->peers_tail == peer)
				dev->peers_tail = prev;
			break;
		}
	}
	dev->peer_count--;
}

void wg_peer_remove(struct wg_device *dev, struct wg_peer *peer)
{
	peer->dead = true;
	if (dev->ops.peer_removed)
		dev->ops.peer_removed(dev->ops.ctx, peer);
	wg_aip_remove_peer(&dev->allowedips, peer);
	wg_device_commit_allowedips(dev);
	wg_noise_handshake_clear(peer);
	wg_noise_keypairs_clear(peer);
	wg_timers_stop(peer);
	wg_purge_staged(peer);
	unlink_peer(dev, peer);
	/* Retired after its sessions and tables, so nothing published outlives it. */
	wg_retire(dev, peer, peer_destroy);
}

void wg_peer_public_key(const struct wg_peer *peer, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, peer->public_key, WG_KEY_LEN);
}

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[WG_KEY_LEN])
{
	memcpy(peer->preshared_key, psk, WG_KEY_LEN);
}

void wg_peer_endpoint(struct wg_peer *peer, struct wg_endpoint *out)
{
	uint32_t seq;

	do {
		while ((seq = atomic_load_explicit(&peer->endpoint_seq, memory_order_acquire)) & 1)
			;
		memcpy(out, &peer->endpoint, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&peer->endpoint_seq, memory_order_relaxed) != seq);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	while (atomic_flag_test_and_set_explicit(&peer->endpoint_writer, memory_order_acquire))
		;
	atomic_fetch_add_explicit(&peer->endpoint_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&peer->endpoint, ep, sizeof(*ep));
	atomic_fetch_add_explicit(&peer->endpoint_seq, 1, memory_order_release);
	atomic_flag_clear_explicit(&peer->endpoint_writer, memory_order_release);
}

/* Roaming: an authenticated message from a new address moves the peer there.
 * Read first so the common case (same address) writes nothing. */
void wg_peer_endpoint_update(struct wg_peer *peer, const struct wg_endpoint *ep)
{
	struct wg_endpoint cur;

	wg_peer_endpoint(peer, &cur);
	if (!wg_endpoint_equal(&cur, ep))
		wg_peer_set_endpoint(peer, ep);
}

void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now)
{
	peer->persistent_keepalive = seconds;
	if (!seconds)
		peer->timers.persistent_keepalive = 0;
	else
		wg_timers_any_authenticated_packet_traversal(peer, now);
}

int wg_peer_allowedip_add(struct wg_peer *peer, sa_family_t family, const void *addr, uint8_t cidr)
{
	return wg_aip_insert(&peer->dev->allowedips, family, addr, cidr, peer);
}

int wg_peer_allowedip_remove(struct wg_peer *peer, sa_family_t family, const void *addr, uint8_t cidr)
{
	return wg_aip_remove(&peer->dev->allowedips, family, addr, cidr, peer);
}

void wg_peer_allowedips_clear(struct wg_peer *peer)
{
	wg_aip_remove_peer(&peer->dev->allowedips, peer);
}

void wg_peer_initiate(struct wg_peer *peer, uint64_t now)
{
	wg_send_initiation(peer, false, now);
}

void wg_peer_set_user(struct wg_peer *peer, uintptr_t user)
{
	peer->user = user;
}

uintptr_t wg_peer_user(const struct wg_peer *peer)
{
	return peer->user;
}

void wg_peer_stats(const struct wg_peer *peer, struct wg_peer_stats *out)
{
	struct wg_keypair *kp = atomic_load(&((struct wg_peer *)peer)->current);

	out->rx_bytes = atomic_load_explicit(&peer->rx_bytes, memory_order_relaxed);
	out->tx_bytes = atomic_load_explicit(&peer->tx_bytes, memory_order_relaxed);
	out->last_handshake_wall_ns = atomic_load(&peer->last_handshake_wall_ns);
	out->handshakes_completed = peer->handshakes_completed;
	out->has_session = kp && atomic_load(&kp->send_valid);
}

bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	if (a->family == AF_INET6)
		return !memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6));
	return true;
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return false;
	}
	*port = (uint16_t)v;
	return true;
}

bool wg_endpoint_parse(struct wg_endpoint *ep, const char *s)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hlen;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		ep->family = AF_INET6;
		return inet_pton(AF_INET6, host, &ep->addr.v6) == 1 && parse_port(close + 2, &ep->port);
	}
	colon = strrchr(s, ':');
	if (!colon)
		return false;
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	ep->family = AF_INET;
	return inet_pton(AF_INET, host, &ep->addr.v4) == 1 && parse_port(colon + 1, &ep->port);
}

void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ep->family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr.v6, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ep->port);
	} else if (ep->family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr.v4, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ep->port);
	} else {
		snprintf(buf, len, "(none)");
	}
}
