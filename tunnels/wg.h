/* SPDX-License-Identifier: MIT */
/* Internal to tunnels/: protocol state shared by its files. Not an interface. */
#ifndef HOPMESH_TUNNELS_WG_H
#define HOPMESH_TUNNELS_WG_H

#include <stdatomic.h>
#include <pthread.h>

#include "tunnels.h"

#define NS_PER_S UINT64_C(1000000000)
#define WG_HASH_LEN 32
#define WG_TIMESTAMP_LEN 12
#define WG_COOKIE_NONCE_LEN 24
#define WG_MAX_TIMER_HANDSHAKES (WG_REKEY_ATTEMPT_TIME / WG_REKEY_TIMEOUT)
#define WG_REKEY_TIMEOUT_JITTER_MAX_NS (NS_PER_S / 3)
/* After crossed initiations, the peer with the greater public key waits this
 * much longer before its next one (timers.c). */
#define WG_CROSSED_YIELD_NS NS_PER_S
#define WG_INITIATIONS_PER_SECOND 50
#define WG_COOKIE_SECRET_MAX_AGE 120
#define WG_COOKIE_SECRET_LATENCY 5

/* ---- wire formats (all little-endian) ---- */

struct wg_msg_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct wg_msg_initiation {
	uint32_t type;
	uint32_t sender;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_static[WG_KEY_LEN + WG_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TIMESTAMP_LEN + WG_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_response {
	uint32_t type;
	uint32_t sender;
	uint32_t receiver;
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t encrypted_nothing[WG_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_cookie {
	uint32_t type;
	uint32_t receiver;
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[WG_MAC_LEN + WG_TAG_LEN];
} __attribute__((packed));

struct wg_msg_data {
	uint32_t type;
	uint32_t receiver;
	uint64_t counter;
	uint8_t encrypted[];
} __attribute__((packed));

_Static_assert(sizeof(struct wg_msg_initiation) == WG_INITIATION_LEN, "initiation size");
_Static_assert(sizeof(struct wg_msg_response) == WG_RESPONSE_LEN, "response size");
_Static_assert(sizeof(struct wg_msg_cookie) == WG_COOKIE_LEN, "cookie size");
_Static_assert(sizeof(struct wg_msg_data) == WG_DATA_HEADER_LEN, "data header size");

/* ---- crypto.c ---- */

struct wg_crypto {
	void *seal;           /* EVP_CIPHER_CTX, keyed per packet */
	void *open;
	void *imb;            /* IMB_MGR when ipsec-mb does the AEAD for some sizes */
	unsigned imb_classes; /* those sizes: a bit per class of crypto.c's aead_class */
	char backend[128];    /* what wg_crypto_backend says when imb_classes */
};
bool wg_crypto_global_init(void);
void wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
void wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen, const void *a,
	    size_t alen, const void *b, size_t blen);
void wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[WG_HASH_LEN],
	    const void *input, size_t len);
bool wg_aead_seal(struct wg_crypto *c, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce, const uint8_t key[WG_KEY_LEN]);
bool wg_aead_open(struct wg_crypto *c, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce, const uint8_t key[WG_KEY_LEN]);
bool wg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN]);
bool wg_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN]);
bool wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN]);
bool wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);
void wg_random(void *buf, size_t len);
uint32_t wg_random_below(uint32_t bound);
bool wg_equal(const void *a, const void *b, size_t len); /* constant time */
bool wg_is_zero(const void *a, size_t len);              /* constant time */

/* ---- replay.c: anti-replay sliding window (RFC 6479) ---- */

#define WG_REPLAY_BITS 8192
#define WG_REPLAY_WINDOW (WG_REPLAY_BITS - 64) /* counters behind the newest still accepted */
struct wg_replay {
	uint64_t next; /* one past the highest counter accepted */
	uint64_t bitmap[WG_REPLAY_BITS / 64];
};
void wg_replay_init(struct wg_replay *r);
/* True if counter is new and inside the window; marks it seen. */
bool wg_replay_check(struct wg_replay *r, uint64_t counter);

/* ---- index.c: receiver indices, looked up by data threads ---- */

enum wg_index_kind { WG_INDEX_HANDSHAKE = 1, WG_INDEX_KEYPAIR = 2 };
struct wg_index_entry {
	uint32_t index;
	uint8_t kind;
	struct wg_peer *peer;
};
struct wg_index_table {
	_Atomic(struct wg_index_entry *) *slots;
	uint32_t mask;
	uint32_t used;
};
bool wg_index_init(struct wg_index_table *t, unsigned bits);
void wg_index_destroy(struct wg_index_table *t);
bool wg_index_insert(struct wg_index_table *t, struct wg_index_entry *e);
void wg_index_replace(struct wg_index_table *t, struct wg_index_entry *old, struct wg_index_entry *e);
void wg_index_remove(struct wg_index_table *t, struct wg_index_entry *e);
struct wg_index_entry *wg_index_lookup(const struct wg_index_table *t, uint32_t index, unsigned kinds);

/* ---- allowedips.c: longest-prefix tries ---- */

struct wg_aip_node; /* the control thread's mutable trie */
struct wg_aip_table; /* an immutable flattened copy the data threads read */
struct wg_allowedips {
	struct wg_aip_node *root[2]; /* [0] IPv4, [1] IPv6 */
	_Atomic(struct wg_aip_table *) published[2];
	bool dirty;
};
int wg_aip_insert(struct wg_allowedips *a, sa_family_t family, const void *addr, uint8_t cidr,
		  struct wg_peer *peer);
int wg_aip_remove(struct wg_allowedips *a, sa_family_t family, const void *addr, uint8_t cidr,
		  struct wg_peer *peer);
void wg_aip_remove_peer(struct wg_allowedips *a, struct wg_peer *peer);
/* Visit the prefixes of one peer in the order they were added, as wg(8)
 * shows them for the kernel and wireguard-go. */
void wg_aip_for_peer(const struct wg_allowedips *a, const struct wg_peer *peer,
		     void (*fn)(void *arg, sa_family_t family, const uint8_t *addr, uint8_t cidr),
		     void *arg);
/* Build fresh lookup tables; the old ones are returned through *old for retiring. */
void wg_aip_publish(struct wg_allowedips *a, struct wg_aip_table *old[2]);
void wg_aip_destroy(struct wg_allowedips *a);
void wg_aip_table_free(void *table);
struct wg_peer *wg_aip_lookup(const struct wg_allowedips *a, sa_family_t family, const void *addr);

/* ---- noise.c: the handshake and its sessions ---- */

enum wg_handshake_state {
	WG_HS_ZEROED,
	WG_HS_CREATED_INITIATION,
	WG_HS_CONSUMED_INITIATION,
	WG_HS_CREATED_RESPONSE,
	WG_HS_CONSUMED_RESPONSE,
};

struct wg_handshake {
	struct wg_index_entry entry;
	enum wg_handshake_state state;
	uint8_t ephemeral_private[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t precomputed_static_static[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption; /* mono ns, 0: never */
	uint32_t remote_index;
	/* The last initiation consumed came while ours was outstanding: the
	 * two crossed, and each side will drop the answer to its own. */
	bool crossed;
};

struct wg_keypair {
	struct wg_index_entry entry; /* our index: the receiver index of its data */
	uint8_t send_key[WG_KEY_LEN];
	uint8_t recv_key[WG_KEY_LEN];
	_Atomic uint64_t send_counter;
	atomic_bool send_valid;
	atomic_bool recv_valid;
	atomic_bool received; /* a data message authenticated under it */
	bool initiator;
	uint32_t remote_index;
	uint64_t birth; /* mono ns */
	struct wg_replay replay;
};

/* ---- cookie.c ---- */

struct wg_cookie_checker {
	uint8_t secret[WG_HASH_LEN];
	uint64_t secret_birth; /* mono ns, 0: none yet */
	uint8_t mac1_key[WG_KEY_LEN];
	uint8_t encryption_key[WG_KEY_LEN];
};

struct wg_peer_cookie {
	uint8_t mac1_key[WG_KEY_LEN];       /* HASH("mac1----" || peer public) */
	uint8_t decryption_key[WG_KEY_LEN]; /* HASH("cookie--" || peer public) */
	uint8_t cookie[WG_MAC_LEN];
	uint64_t birth;
	bool valid;
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

enum wg_mac_state { WG_MAC_INVALID, WG_MAC_VALID_NO_COOKIE, WG_MAC_VALID_COOKIE_RATELIMITED,
		    WG_MAC_VALID_COOKIE };

struct wg_ratelimiter;

void wg_cookie_checker_precompute(struct wg_cookie_checker *c, const uint8_t *public_key);
void wg_cookie_peer_precompute(struct wg_peer_cookie *pc, const uint8_t public_key[WG_KEY_LEN]);
enum wg_mac_state wg_cookie_validate(struct wg_device *dev, const uint8_t *msg, size_t len,
				     const struct wg_endpoint *from, bool check_cookie, uint64_t now);
void wg_cookie_add_macs(struct wg_peer *peer, uint8_t *msg, size_t len, uint64_t now);
void wg_cookie_reply_create(struct wg_device *dev, struct wg_msg_cookie *dst, const uint8_t *msg,
			    size_t len, uint32_t sender, const struct wg_endpoint *from, uint64_t now);
enum wg_drop wg_cookie_reply_consume(struct wg_device *dev, const struct wg_msg_cookie *src,
				     uint64_t now);

/* ---- ratelimiter.c: handshakes per source address under load ---- */

struct wg_ratelimiter *wg_ratelimiter_new(void);
void wg_ratelimiter_free(struct wg_ratelimiter *r);
bool wg_ratelimiter_allow(struct wg_ratelimiter *r, const struct wg_endpoint *from, uint64_t now);

/* ---- timers.c ---- */

struct wg_timers {
	uint64_t retransmit_handshake; /* deadlines in mono ns, 0: not armed */
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
};

/* What data threads report, read by the control thread in wg_device_tick(). */
struct wg_activity {
	_Atomic uint64_t data_sent;      /* mono ns of the latest */
	_Atomic uint64_t data_received;
	_Atomic uint64_t auth_sent;      /* any authenticated message incl. keepalive */
	_Atomic uint64_t auth_received;
	_Atomic uint32_t want;           /* WG_WANT_* */
};
#define WG_WANT_HANDSHAKE 1u      /* rekey after time or messages on send */
#define WG_WANT_LASTMINUTE 2u     /* receive side: session about to expire */
#define WG_WANT_CONFIRM 4u        /* data arrived on the next keypair */

void wg_timers_data_sent(struct wg_peer *peer, uint64_t now);
void wg_timers_data_received(struct wg_peer *peer, uint64_t now);
void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_received(struct wg_peer *peer);
void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer, uint64_t now);
void wg_timers_handshake_sent(struct wg_peer *peer, uint64_t now);
bool wg_timers_handshake_held_off(const struct wg_peer *peer, uint64_t now);
void wg_timers_handshake_initiated(struct wg_peer *peer);
void wg_timers_handshake_crossed(struct wg_peer *peer);
void wg_timers_handshake_complete(struct wg_peer *peer);
void wg_timers_session_derived(struct wg_peer *peer, uint64_t now);
void wg_timers_stop(struct wg_peer *peer);
void wg_timers_tick(struct wg_peer *peer, uint64_t now);

/* ---- peer and device ---- */

struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *next_in_list;   /* configuration order */
	struct wg_peer *next_in_bucket; /* public-key hash */
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	struct wg_handshake handshake;
	struct wg_peer_cookie cookie;
	_Atomic(struct wg_keypair *) current;
	_Atomic(struct wg_keypair *) previous;
	_Atomic(struct wg_keypair *) next;

	/* Endpoint: written by the control thread and by data threads on roaming,
	 * read by data threads for every packet sent. A sequence lock keeps reads
	 * wait-free; writers serialise on the flag. */
	_Atomic uint32_t endpoint_seq;
	atomic_flag endpoint_writer;
	struct wg_endpoint endpoint;

	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t tx_bytes;
	_Atomic uint64_t last_handshake_wall_ns;
	uint64_t handshakes_completed;
	uint64_t last_sent_handshake; /* mono ns, rate limit of initiations ... */
	uint64_t handshake_wait;      /* ... for this long after it (timers.c) */
	uint16_t persistent_keepalive;

	struct wg_activity activity;
	uint64_t seen_data_sent, seen_data_received, seen_auth_sent, seen_auth_received;
	struct wg_timers timers;

	struct wg_aip_node *aip_first, *aip_last; /* its prefixes, in insertion order */

	void *staged[WG_MAX_STAGED_PACKETS];
	unsigned staged_head, staged_count;
	uintptr_t user;
	bool dead;
};

#define WG_PEER_BUCKETS 256

struct wg_device {
	struct wg_ops ops;
	struct wg_tuning tuning;
	bool has_identity;
	uint8_t static_private[WG_KEY_LEN];
	uint8_t static_public[WG_KEY_LEN];
	_Atomic uint16_t listen_port;
	uint16_t mtu;
	uint32_t fwmark;
	struct wg_peer *peers;      /* configuration order */
	struct wg_peer *peers_tail;
	unsigned peer_count;
	struct wg_peer *buckets[WG_PEER_BUCKETS];
	struct wg_index_table index;
	struct wg_allowedips allowedips;
	struct wg_cookie_checker cookie_checker;
	struct wg_ratelimiter *ratelimiter;
	struct wg_crypto *crypto; /* the control thread's */
	uint64_t last_under_load; /* mono ns */
};

void wg_log(struct wg_device *dev, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t wg_wall_ns(struct wg_device *dev);
void wg_retire(struct wg_device *dev, void *obj, void (*destroy)(void *));

/* noise.c */
void wg_handshake_init_peer(struct wg_peer *peer);
void wg_handshake_precompute(struct wg_peer *peer);
bool wg_noise_create_initiation(struct wg_peer *peer, struct wg_msg_initiation *dst, uint64_t now);
struct wg_peer *wg_noise_consume_initiation(struct wg_device *dev,
					    const struct wg_msg_initiation *src, uint64_t now,
					    enum wg_drop *why);
bool wg_noise_create_response(struct wg_peer *peer, struct wg_msg_response *dst);
struct wg_peer *wg_noise_consume_response(struct wg_device *dev, const struct wg_msg_response *src);
bool wg_noise_begin_session(struct wg_peer *peer, uint64_t now);
void wg_noise_handshake_clear(struct wg_peer *peer);
void wg_noise_keypairs_clear(struct wg_peer *peer);
void wg_noise_expire_current_keypairs(struct wg_peer *peer);
/* Slides next -> current when the responder got its first data; true if it did. */
bool wg_noise_confirm_next(struct wg_peer *peer);
void wg_tai64n_now(struct wg_device *dev, uint8_t out[WG_TIMESTAMP_LEN]);

/* send.c (control thread): the messages the control thread originates */
void wg_send_initiation(struct wg_peer *peer, bool is_retry, uint64_t now);
void wg_send_keepalive(struct wg_peer *peer, uint64_t now);
void wg_send_response(struct wg_peer *peer, uint64_t now);
void wg_purge_staged(struct wg_peer *peer);

/* peer.c */
void wg_peer_endpoint_update(struct wg_peer *peer, const struct wg_endpoint *ep);

#endif
