// SPDX-License-Identifier: MIT
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as WireGuard uses it (whitepaper 5.4),
 * and the three session slots of a peer (previous, current, next).
 *
 * Runs on the control thread only. Data threads see sessions through the
 * peer's atomic slots and the index table; a session leaving both is retired,
 * never freed in place.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "wg.h"

static const char construction[37] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[34] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

static uint8_t initial_chaining_key[WG_HASH_LEN];
static uint8_t initial_hash[WG_HASH_LEN];
static pthread_once_t initial_once = PTHREAD_ONCE_INIT;

static void compute_initial(void)
{
	wg_hash(initial_chaining_key, construction, sizeof(construction), NULL, 0);
	wg_hash(initial_hash, initial_chaining_key, WG_HASH_LEN, identifier, sizeof(identifier));
}

static void handshake_start(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
			    const uint8_t responder_static[WG_KEY_LEN])
{
	pthread_once(&initial_once, compute_initial);
	memcpy(ck, initial_chaining_key, WG_HASH_LEN);
	wg_hash(hash, initial_hash, WG_HASH_LEN, responder_static, WG_KEY_LEN);
}

static void mix_hash(uint8_t hash[WG_HASH_LEN], const void *data, size_t len)
{
	wg_hash(hash, hash, WG_HASH_LEN, data, len);
}

static void mix_ephemeral(const uint8_t e[WG_KEY_LEN], uint8_t ck[WG_HASH_LEN],
			  uint8_t hash[WG_HASH_LEN])
{
	mix_hash(hash, e, WG_KEY_LEN);
	wg_kdf(ck, NULL, NULL, ck, e, WG_KEY_LEN);
}

static bool mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t *key, const uint8_t priv[WG_KEY_LEN],
		   const uint8_t pub[WG_KEY_LEN])
{
	uint8_t dh[WG_KEY_LEN];
	bool ok = wg_dh(dh, priv, pub);

	if (ok)
		wg_kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);
	wg_memzero(dh, sizeof(dh));
	return ok;
}

static bool mix_precomputed_dh(uint8_t ck[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
			       const uint8_t dh[WG_KEY_LEN])
{
	if (wg_is_zero(dh, WG_KEY_LEN))
		return false;
	wg_kdf(ck, key, NULL, ck, dh, WG_KEY_LEN);
	return true;
}

static void mix_psk(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
		    const uint8_t psk[WG_KEY_LEN])
{
	uint8_t temp[WG_HASH_LEN];

	wg_kdf(ck, temp, key, ck, psk, WG_KEY_LEN);
	mix_hash(hash, temp, WG_HASH_LEN);
	wg_memzero(temp, sizeof(temp));
}

static void encrypt_and_hash(struct wg_device *dev, uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	wg_aead_seal(dev->crypto, dst, src, len, hash, WG_HASH_LEN, 0, key);
	mix_hash(hash, dst, len + WG_TAG_LEN);
}

static bool decrypt_and_hash(struct wg_device *dev, uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	if (!wg_aead_open(dev->crypto, dst, src, len, hash, WG_HASH_LEN, 0, key))
		return false;
	mix_hash(hash, src, len);
	return true;
}

/* TAI64N, with the nanoseconds rounded down to 2^24 so the timestamp does not
 * leak fine-grained timing: it only has to increase between initiations, which
 * are at most 50 per second. */
void wg_tai64n_now(struct wg_device *dev, uint8_t out[WG_TIMESTAMP_LEN])
{
	uint64_t ns = wg_wall_ns(dev);
	uint64_t sec = 0x400000000000000aULL + ns / NS_PER_S;
	uint32_t nsec = (uint32_t)(ns % NS_PER_S) & ~((1u << 24) - 1);

	sec = htobe64(sec);
	nsec = htobe32(nsec);
	memcpy(out, &sec, 8);
	memcpy(out + 8, &nsec, 4);
}

void wg_handshake_init_peer(struct wg_peer *peer)
{
	peer->handshake.entry.kind = WG_INDEX_HANDSHAKE;
	peer->handshake.entry.peer = peer;
	wg_handshake_precompute(peer);
}

void wg_handshake_precompute(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	if (!dev->has_identity ||
	    !wg_dh(peer->handshake.precomputed_static_static, dev->static_private, peer->public_key))
		wg_memzero(peer->handshake.precomputed_static_static, WG_KEY_LEN);
}

/* Both ends compute the same key: ck binds the label and the two public keys
 * (in byte order, so the order of the ends does not matter), and the
 * static-static DH is mixed into it as the handshake mixes a DH. */
bool wg_peer_pair_key(const struct wg_peer *peer, const char *label, uint8_t out[WG_KEY_LEN])
{
	const struct wg_device *dev = peer->dev;
	const uint8_t *lo = dev->static_public, *hi = peer->public_key;
	uint8_t ck[WG_HASH_LEN], pubs[2 * WG_KEY_LEN];

	if (!dev->has_identity || wg_is_zero(peer->handshake.precomputed_static_static, WG_KEY_LEN)) {
		wg_memzero(out, WG_KEY_LEN);
		return false;
	}
	if (memcmp(lo, hi, WG_KEY_LEN) > 0) {
		lo = peer->public_key;
		hi = dev->static_public;
	}
	memcpy(pubs, lo, WG_KEY_LEN);
	memcpy(pubs + WG_KEY_LEN, hi, WG_KEY_LEN);
	wg_hash(ck, label, strlen(label), pubs, sizeof(pubs));
	wg_kdf(out, NULL, NULL, ck, peer->handshake.precomputed_static_static, WG_KEY_LEN);
	wg_memzero(ck, sizeof(ck));
	return true;
}

static void handshake_zero(struct wg_handshake *hs)
{
	wg_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	wg_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	wg_memzero(hs->hash, sizeof(hs->hash));
	wg_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = WG_HS_ZEROED;
}

void wg_noise_handshake_clear(struct wg_peer *peer)
{
	wg_index_remove(&peer->dev->index, &peer->handshake.entry);
	handshake_zero(&peer->handshake);
}

static bool new_ephemeral(struct wg_handshake *hs, uint8_t pub[WG_KEY_LEN])
{
	wg_random(hs->ephemeral_private, WG_KEY_LEN);
	return wg_pubkey(pub, hs->ephemeral_private);
}

/* Each message we send gets a fresh index, so that replies to an older one no
 * longer match. */
static bool take_new_index(struct wg_device *dev, struct wg_handshake *hs)
{
	wg_index_remove(&dev->index, &hs->entry);
	return wg_index_insert(&dev->index, &hs->entry);
}

bool wg_noise_create_initiation(struct wg_peer *peer, struct wg_msg_initiation *dst, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct wg_handshake *hs = &peer->handshake;
	uint8_t timestamp[WG_TIMESTAMP_LEN], key[WG_KEY_LEN];
	bool ok = false;

	(void)now;
	if (!dev->has_identity)
		return false;
	memset(dst, 0, sizeof(*dst));
	dst->type = htole32(WG_MSG_INITIATION);
	handshake_start(hs->chaining_key, hs->hash, peer->public_key);

	/* e */
	if (!new_ephemeral(hs, dst->ephemeral))
		goto out;
	mix_ephemeral(dst->ephemeral, hs->chaining_key, hs->hash);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, peer->public_key))
		goto out;
	/* s */
	encrypt_and_hash(dev, dst->encrypted_static, dev->static_public, WG_KEY_LEN, key, hs->hash);
	/* ss */
	if (!mix_precomputed_dh(hs->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	wg_tai64n_now(dev, timestamp);
	encrypt_and_hash(dev, dst->encrypted_timestamp, timestamp, WG_TIMESTAMP_LEN, key, hs->hash);

	if (!take_new_index(dev, hs))
		goto out;
	dst->sender = htole32(hs->entry.index);
	hs->state = WG_HS_CREATED_INITIATION;
	ok = true;
out:
	wg_memzero(key, sizeof(key));
	if (!ok)
		handshake_zero(hs);
	return ok;
}

struct wg_peer *wg_noise_consume_initiation(struct wg_device *dev,
					    const struct wg_msg_initiation *src, uint64_t now,
					    enum wg_drop *why)
{
	uint8_t ck[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_KEY_LEN];
	uint8_t s[WG_KEY_LEN], t[WG_TIMESTAMP_LEN];
	struct wg_peer *peer = NULL, *ret = NULL;
	struct wg_handshake *hs;

	*why = WG_DROP_HANDSHAKE;
	if (!dev->has_identity) {
		*why = WG_DROP_NO_IDENTITY;
		return NULL;
	}
	handshake_start(ck, hash, dev->static_public);

	/* e */
	mix_ephemeral(src->ephemeral, ck, hash);
	/* es */
	if (!mix_dh(ck, key, dev->static_private, src->ephemeral))
		goto out;
	/* s */
	if (!decrypt_and_hash(dev, s, src->encrypted_static, sizeof(src->encrypted_static), key, hash))
		goto out;
	peer = wg_peer_lookup(dev, s);
	if (!peer || peer->dead)
		goto out;
	hs = &peer->handshake;
	/* ss */
	if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	if (!decrypt_and_hash(dev, t, src->encrypted_timestamp, sizeof(src->encrypted_timestamp), key,
			      hash))
		goto out;

	if (memcmp(t, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0) {
		*why = WG_DROP_REPLAYED_INITIATION;
		goto out;
	}
	if (hs->last_initiation_consumption &&
	    now - hs->last_initiation_consumption < NS_PER_S / WG_INITIATIONS_PER_SECOND) {
		*why = WG_DROP_FLOOD;
		goto out;
	}

	memcpy(hs->remote_ephemeral, src->ephemeral, WG_KEY_LEN);
	memcpy(hs->latest_timestamp, t, WG_TIMESTAMP_LEN);
	memcpy(hs->hash, hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->remote_index = le32toh(src->sender);
	hs->last_initiation_consumption = now;
	hs->crossed = hs->state == WG_HS_CREATED_INITIATION;
	hs->state = WG_HS_CONSUMED_INITIATION;
	*why = WG_OK;
	ret = peer;
out:
	wg_memzero(ck, sizeof(ck));
	wg_memzero(hash, sizeof(hash));
	wg_memzero(key, sizeof(key));
	wg_memzero(s, sizeof(s));
	return ret;
}

bool wg_noise_create_response(struct wg_peer *peer, struct wg_msg_response *dst)
{
	struct wg_device *dev = peer->dev;
	struct wg_handshake *hs = &peer->handshake;
	uint8_t key[WG_KEY_LEN];
	bool ok = false;

	if (hs->state != WG_HS_CONSUMED_INITIATION)
		return false;
	memset(dst, 0, sizeof(*dst));
	dst->type = htole32(WG_MSG_RESPONSE);
	dst->receiver = htole32(hs->remote_index);

	/* e */
	if (!new_ephemeral(hs, dst->ephemeral))
		goto out;
	mix_ephemeral(dst->ephemeral, hs->chaining_key, hs->hash);
	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, peer->public_key))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, peer->preshared_key);
	/* {} */
	encrypt_and_hash(dev, dst->encrypted_nothing, NULL, 0, key, hs->hash);

	if (!take_new_index(dev, hs))
		goto out;
	dst->sender = htole32(hs->entry.index);
	hs->state = WG_HS_CREATED_RESPONSE;
	ok = true;
out:
	wg_memzero(key, sizeof(key));
	if (!ok)
		handshake_zero(hs);
	return ok;
}

struct wg_peer *wg_noise_consume_response(struct wg_device *dev, const struct wg_msg_response *src)
{
	uint8_t ck[WG_HASH_LEN], hash[WG_HASH_LEN], key[WG_KEY_LEN];
	struct wg_index_entry *e;
	struct wg_handshake *hs;
	struct wg_peer *peer, *ret = NULL;

	if (!dev->has_identity)
		return NULL;
	e = wg_index_lookup(&dev->index, le32toh(src->receiver), WG_INDEX_HANDSHAKE);
	if (!e)
		return NULL;
	peer = e->peer;
	hs = &peer->handshake;
	if (hs->state != WG_HS_CREATED_INITIATION)
		return NULL;
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(hash, hs->hash, WG_HASH_LEN);

	/* e */
	mix_ephemeral(src->ephemeral, ck, hash);
	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, src->ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, dev->static_private, src->ephemeral))
		goto out;
	/* psk */
	mix_psk(ck, hash, key, peer->preshared_key);
	/* {} */
	if (!decrypt_and_hash(dev, NULL, src->encrypted_nothing, sizeof(src->encrypted_nothing), key,
			      hash))
		goto out;

	memcpy(hs->remote_ephemeral, src->ephemeral, WG_KEY_LEN);
	memcpy(hs->hash, hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->remote_index = le32toh(src->sender);
	hs->state = WG_HS_CONSUMED_RESPONSE;
	ret = peer;
out:
	wg_memzero(ck, sizeof(ck));
	wg_memzero(hash, sizeof(hash));
	wg_memzero(key, sizeof(key));
	return ret;
}

static void keypair_destroy(void *obj)
{
	struct wg_keypair *kp = obj;

	wg_memzero(kp, sizeof(*kp));
	free(kp);
}

/* Unpublish a session: out of its slot already, now out of the index table. */
static void keypair_drop(struct wg_peer *peer, struct wg_keypair *kp)
{
	if (!kp)
		return;
	atomic_store(&kp->send_valid, false);
	atomic_store(&kp->recv_valid, false);
	wg_index_remove(&peer->dev->index, &kp->entry);
	wg_retire(peer->dev, kp, keypair_destroy);
}

static struct wg_keypair *slot_get(_Atomic(struct wg_keypair *) *slot)
{
	return atomic_load_explicit(slot, memory_order_relaxed);
}

static void slot_set(_Atomic(struct wg_keypair *) *slot, struct wg_keypair *kp)
{
	atomic_store_explicit(slot, kp, memory_order_release);
}

/* The initiator may use a new session at once: the response proved the peer has
 * it. The responder must wait for the first data message under it (next slot). */
static void add_new_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	struct wg_keypair *previous = slot_get(&peer->previous);
	struct wg_keypair *next = slot_get(&peer->next);
	struct wg_keypair *current = slot_get(&peer->current);

	if (kp->initiator) {
		if (next) {
			slot_set(&peer->next, NULL);
			slot_set(&peer->previous, next);
			keypair_drop(peer, current);
		} else {
			slot_set(&peer->previous, current);
		}
		keypair_drop(peer, previous);
		slot_set(&peer->current, kp);
	} else {
		slot_set(&peer->next, kp);
		keypair_drop(peer, next);
		slot_set(&peer->previous, NULL);
		keypair_drop(peer, previous);
	}
}

bool wg_noise_begin_session(struct wg_peer *peer, uint64_t now)
{
	struct wg_handshake *hs = &peer->handshake;
	struct wg_keypair *kp;

	if (hs->state != WG_HS_CREATED_RESPONSE && hs->state != WG_HS_CONSUMED_RESPONSE)
		return false;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return false;
	kp->entry.kind = WG_INDEX_KEYPAIR;
	kp->entry.peer = peer;
	kp->initiator = hs->state == WG_HS_CONSUMED_RESPONSE;
	kp->remote_index = hs->remote_index;
	kp->birth = now;
	wg_replay_init(&kp->replay);
	if (kp->initiator)
		wg_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
	else
		wg_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
	atomic_store(&kp->send_valid, true);
	atomic_store(&kp->recv_valid, true);

	/* Takes over the handshake's index before it is published in a slot, so
	 * the first data message finds it. */
	wg_index_replace(&peer->dev->index, &hs->entry, &kp->entry);
	handshake_zero(hs);
	add_new_keypair(peer, kp);
	peer->handshakes_completed++;
	return true;
}

bool wg_noise_confirm_next(struct wg_peer *peer)
{
	struct wg_keypair *next = slot_get(&peer->next);

	if (!next || !atomic_load(&next->received))
		return false;
	keypair_drop(peer, slot_get(&peer->previous));
	slot_set(&peer->previous, slot_get(&peer->current));
	slot_set(&peer->current, next);
	slot_set(&peer->next, NULL);
	return true;
}

void wg_noise_keypairs_clear(struct wg_peer *peer)
{
	struct wg_keypair *kp;

	kp = slot_get(&peer->previous);
	slot_set(&peer->previous, NULL);
	keypair_drop(peer, kp);
	kp = slot_get(&peer->current);
	slot_set(&peer->current, NULL);
	keypair_drop(peer, kp);
	kp = slot_get(&peer->next);
	slot_set(&peer->next, NULL);
	keypair_drop(peer, kp);
}

/* Our identity changed: sessions may still receive, but we send nothing more
 * under them, which forces a fresh handshake with the new key. */
void wg_noise_expire_current_keypairs(struct wg_peer *peer)
{
	struct wg_keypair *kp;

	wg_noise_handshake_clear(peer);
	peer->last_sent_handshake = 0;
	if ((kp = slot_get(&peer->next)))
		atomic_store(&kp->send_valid, false);
	if ((kp = slot_get(&peer->current)))
		atomic_store(&kp->send_valid, false);
}
