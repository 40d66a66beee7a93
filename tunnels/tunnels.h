/* SPDX-License-Identifier: MIT */
/*
 * tunnels: WireGuard as a library with no I/O and no DPDK in it.
 *
 * Threading: one control thread owns configuration, handshakes, timers and the
 * UAPI (everything taking a struct wg_device * without "burst" in its name).
 * Any number of data threads may call wg_encrypt_burst() and wg_decrypt_burst()
 * concurrently with it, each with its own struct wg_crypto. Objects those threads
 * may still hold are handed to wg_ops.retire, never freed directly. The receive
 * side of one keypair (its replay window) must only ever be used by one data
 * thread at a time; the caller steers each peer's packets accordingly.
 *
 * Time: every call takes "now", a monotonic clock in nanoseconds, so tests drive
 * every timer without sleeping. Wall-clock time (TAI64N, last handshake) comes
 * from wg_ops.wall_ns.
 */
#ifndef HOPMESH_TUNNELS_H
#define HOPMESH_TUNNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define WG_KEY_LEN 32
#define WG_MAC_LEN 16
#define WG_TAG_LEN 16

/* Message types and exact sizes on the wire (little-endian 32-bit type word). */
enum wg_msg_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};
#define WG_INITIATION_LEN 148
#define WG_RESPONSE_LEN 92
#define WG_COOKIE_LEN 64
#define WG_DATA_HEADER_LEN 16
#define WG_DATA_MIN_LEN (WG_DATA_HEADER_LEN + WG_TAG_LEN)
/* Room an encrypted data message needs after the plaintext: padding and tag. */
#define WG_DATA_TAILROOM (15 + WG_TAG_LEN)

/* Timing constants of the protocol, in seconds (whitepaper section 6). */
#define WG_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - 8192) /* 2^64 - 2^13 - 1 */
#define WG_REKEY_AFTER_TIME 120
#define WG_REJECT_AFTER_TIME 180
#define WG_REKEY_ATTEMPT_TIME 90
#define WG_REKEY_TIMEOUT 5
#define WG_KEEPALIVE_TIMEOUT 10
#define WG_MAX_STAGED_PACKETS 128

struct wg_endpoint {
	sa_family_t family; /* AF_INET, AF_INET6, or AF_UNSPEC for none */
	uint16_t port;      /* host order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

bool wg_endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);
/* "1.2.3.4:51820" or "[2001:db8::1]:51820"; returns false on anything else. */
bool wg_endpoint_parse(struct wg_endpoint *ep, const char *s);
/* Writes the form above into buf (at least 64 bytes). */
void wg_endpoint_format(const struct wg_endpoint *ep, char *buf, size_t len);

/* Why a message was not accepted. Every drop has exactly one reason. */
enum wg_drop {
	WG_OK = 0,
	WG_DROP_MALFORMED,       /* wrong length for its type, unknown type */
	WG_DROP_MAC1,            /* mac1 does not match our public key */
	WG_DROP_MAC2,            /* under load and mac2 is missing or wrong: cookie sent */
	WG_DROP_RATELIMITED,     /* under load, valid cookie, but the source is over its rate */
	WG_DROP_HANDSHAKE,       /* failed to decrypt, unknown peer, bad state */
	WG_DROP_REPLAYED_INITIATION, /* timestamp not newer than the last one */
	WG_DROP_FLOOD,           /* initiations from one peer faster than 50/s */
	WG_DROP_COOKIE,          /* cookie reply that does not decrypt or answers nothing */
	WG_DROP_UNKNOWN_INDEX,   /* receiver index names no session */
	WG_DROP_KEY_EXPIRED,     /* session past reject-after-time or -messages */
	WG_DROP_DECRYPT,         /* authentication tag wrong */
	WG_DROP_REPLAY,          /* counter seen before or older than the window */
	WG_DROP_INNER_MALFORMED, /* plaintext is not a well-formed IPv4/IPv6 packet */
	WG_DROP_ALLOWEDIPS,      /* inner source is not one of the sending peer's allowed-ips */
	WG_DROP_NO_SESSION,      /* (send) no valid session: stage and handshake */
	WG_DROP_NO_ENDPOINT,     /* (send) no endpoint for the peer and no other way */
	WG_DROP_NO_IDENTITY,     /* no private key configured */
	WG_DROP__COUNT
};
const char *wg_drop_name(enum wg_drop reason);

struct wg_device;
struct wg_peer;

/* How the library reaches its caller. All are called on the control thread. */
struct wg_ops {
	void *ctx;
	/* Send a finished message (handshake, cookie reply or keepalive); true if it
	 * left. peer is NULL for cookie replies, which go to whoever sent the message
	 * being answered. "to" is the peer's endpoint, AF_UNSPEC when it has none:
	 * the caller may still reach it another way (a relay). */
	bool (*send)(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		     const uint8_t *msg, size_t len);
	/* A session is usable: the caller should encrypt what is staged for peer. */
	void (*session_ready)(void *ctx, struct wg_peer *peer);
	/* Free a staged packet the library gave up on. */
	void (*free_staged)(void *ctx, void *pkt);
	/* peer was just added (UAPI, configuration), before its allowed-ips: bind
	 * what names its key to it now, not on a later tick, or a packet sent
	 * right after `wg set` finds no peer. */
	void (*peer_added)(void *ctx, struct wg_peer *peer);
	/* peer is being removed: drop references to it (it is retired next). */
	void (*peer_removed)(void *ctx, struct wg_peer *peer);
	/* Call destroy(obj) once no data thread can still hold obj. NULL: at once. */
	void (*retire)(void *ctx, void *obj, void (*destroy)(void *obj));
	/* Nanoseconds since the Unix epoch. NULL: CLOCK_REALTIME. */
	uint64_t (*wall_ns)(void *ctx);
	/* One line of log for the operator. Never given key material. NULL: stderr. */
	void (*log)(void *ctx, int level, const char *msg);
};

/* Device: one WireGuard interface. index_bits sizes the receiver-index table
 * (2^index_bits slots, four per peer are used at most). */
struct wg_device *wg_device_new(const struct wg_ops *ops, unsigned index_bits);
void wg_device_free(struct wg_device *dev);
/* All-zero key removes the identity. */
void wg_device_set_private_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN], uint64_t now);
bool wg_device_public_key(const struct wg_device *dev, uint8_t out[WG_KEY_LEN]);
uint16_t wg_device_listen_port(const struct wg_device *dev);
void wg_device_set_listen_port(struct wg_device *dev, uint16_t port);
/* Tunnel MTU: padding never grows a packet beyond it. */
void wg_device_set_mtu(struct wg_device *dev, uint16_t mtu);

/* Tuning for tests and operators; defaults are the protocol's. */
struct wg_tuning {
	uint32_t rekey_after_time_s;    /* default WG_REKEY_AFTER_TIME */
	uint32_t under_load_backlog;    /* queued handshakes that mean "under load": 512 */
	bool force_under_load;          /* always demand mac2 (cookie replies) */
};
void wg_device_get_tuning(const struct wg_device *dev, struct wg_tuning *t);
void wg_device_set_tuning(struct wg_device *dev, const struct wg_tuning *t);

/* Control thread, called often (every few ms) and after a data thread reported
 * attention: turns data-path activity into timer events, rotates confirmed
 * sessions, fires expired timers. */
void wg_device_tick(struct wg_device *dev, uint64_t now);

/* A handshake-type message (1, 2 or 3) as received from "from". backlog is how
 * many more are queued behind it: it decides whether we are under load. */
enum wg_drop wg_device_handshake_rx(struct wg_device *dev, const uint8_t *msg, size_t len,
				    const struct wg_endpoint *from, unsigned backlog,
				    uint64_t now);
/* As above for a message that arrived through a relay: the peer's endpoint is
 * not moved to "from", and replies go to the peer's own endpoint. */
enum wg_drop wg_device_handshake_rx_relayed(struct wg_device *dev, const uint8_t *msg,
					    size_t len, const struct wg_endpoint *from,
					    unsigned backlog, uint64_t now);

/* Peers (control thread). */
struct wg_peer *wg_peer_add(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
struct wg_peer *wg_peer_lookup(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
void wg_peer_remove(struct wg_device *dev, struct wg_peer *peer);
void wg_peer_public_key(const struct wg_peer *peer, uint8_t out[WG_KEY_LEN]);
/* A key for a protocol beside WireGuard (label names it) that only we and
 * peer's owner hold, with no message: derived from our static key and the
 * peer's (their DH). Changes with either static key. False (out zeroed)
 * without our identity or for a degenerate DH. */
bool wg_peer_pair_key(const struct wg_peer *peer, const char *label, uint8_t out[WG_KEY_LEN]);
void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[WG_KEY_LEN]);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct wg_endpoint *ep);
void wg_peer_endpoint(struct wg_peer *peer, struct wg_endpoint *out);
void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now);
/* Allowed-ips: an address may belong to one peer only; adding moves it. */
int wg_peer_allowedip_add(struct wg_peer *peer, sa_family_t family, const void *addr, uint8_t cidr);
int wg_peer_allowedip_remove(struct wg_peer *peer, sa_family_t family, const void *addr, uint8_t cidr);
void wg_peer_allowedips_clear(struct wg_peer *peer);
/* Publish allowed-ips changes to data threads (after a batch of the calls above). */
void wg_device_commit_allowedips(struct wg_device *dev);
/* Start a handshake now (rate-limited to one per REKEY_TIMEOUT). */
void wg_peer_initiate(struct wg_peer *peer, uint64_t now);
/* Keep a packet until a session exists (drops the oldest beyond 128) and make
 * sure a handshake is under way. */
void wg_peer_stage(struct wg_peer *peer, void *pkt, uint64_t now);
/* Take back up to max staged packets, oldest first. */
unsigned wg_peer_unstage(struct wg_peer *peer, void **pkts, unsigned max);
/* A caller-owned word per peer (the dataplane keeps its gateway id here). */
void wg_peer_set_user(struct wg_peer *peer, uintptr_t user);
uintptr_t wg_peer_user(const struct wg_peer *peer);

struct wg_peer_stats {
	uint64_t rx_bytes, tx_bytes;
	uint64_t last_handshake_wall_ns; /* 0: never */
	uint64_t handshakes_completed;
	bool has_session;
};
void wg_peer_stats(const struct wg_peer *peer, struct wg_peer_stats *out);
/* Visit peers in configuration order; stop when fn returns false. */
void wg_device_for_each_peer(struct wg_device *dev, bool (*fn)(struct wg_peer *, void *), void *arg);
unsigned wg_device_peer_count(const struct wg_device *dev);

/* Cryptokey routing lookups (any thread). */
struct wg_peer *wg_allowedips_lookup(const struct wg_device *dev, sa_family_t family, const void *addr);

/* ---- Data path (any thread, one struct wg_crypto per thread) ---- */

struct wg_crypto;
/* ChaCha20-Poly1305 from ipsec-mb (where it was built in) or OpenSSL 3, per
 * size class whichever sealed faster when the process's first one was made
 * (docs/PERFORMANCE.md); HOPMESH_AEAD=openssl or =ipsec-mb in the environment
 * takes that library for every size. wg_crypto_backend names the choice. */
struct wg_crypto *wg_crypto_new(void);
void wg_crypto_free(struct wg_crypto *c);
const char *wg_crypto_backend(const struct wg_crypto *c);

/* One packet to encrypt. msg points at WG_DATA_HEADER_LEN bytes of room followed
 * by len bytes of plaintext and WG_DATA_TAILROOM bytes of room. */
struct wg_tx {
	struct wg_peer *peer;   /* in */
	uint8_t *msg;           /* in */
	uint32_t len;           /* in: plaintext length; out: message length */
	uint8_t status;         /* out: enum wg_drop */
	struct wg_endpoint dst; /* out: the peer's endpoint; AF_UNSPEC if it has none,
				 * which only a caller that relays can still use */
};
/* Encrypts in place. Returns how many succeeded; the caller stages the ones with
 * WG_DROP_NO_SESSION through the control thread. */
unsigned wg_encrypt_burst(struct wg_crypto *c, struct wg_tx *pkts, unsigned n, uint64_t now);

/* One received data message (type 4). */
struct wg_rx {
	uint8_t *msg;           /* in: the whole message */
	uint32_t len;           /* in */
	struct wg_endpoint src; /* in: outer source */
	bool relayed;           /* in: came through a relay: do not roam to src */
	uint8_t status;         /* out: enum wg_drop */
	bool keepalive;         /* out: authenticated, empty */
	struct wg_peer *peer;   /* out: set when authenticated */
	uint8_t *plain;         /* out: the inner IP packet (msg + 16) */
	uint32_t plain_len;     /* out: its length from its own header */
};
/* Authenticates, decrypts in place, checks the replay window and that the
 * inner source belongs to the sending peer. Returns how many carry a packet to
 * deliver (status WG_OK and not keepalive). *attention is set when the control
 * thread should tick soon (a session to confirm, a rekey due). */
unsigned wg_decrypt_burst(struct wg_crypto *c, struct wg_device *dev, struct wg_rx *pkts,
			  unsigned n, uint64_t now, bool *attention);

/* ---- UAPI: the cross-platform userspace configuration protocol ---- */

/* One connection's parser state; feed it bytes as they arrive. */
struct wg_uapi;
struct wg_uapi *wg_uapi_new(struct wg_device *dev);
void wg_uapi_free(struct wg_uapi *u);
/* Consumes input; appends any replies to the output buffer (see wg_uapi_output).
 * Returns false when the connection must be closed (protocol violation). */
bool wg_uapi_feed(struct wg_uapi *u, const char *data, size_t len, uint64_t now);
/* Pending reply bytes; wg_uapi_consumed() drops n of them once written. */
const char *wg_uapi_output(const struct wg_uapi *u, size_t *len);
void wg_uapi_consumed(struct wg_uapi *u, size_t n);

/* Base64 and hex keys as wg(8) writes them. */
bool wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s);
void wg_key_to_base64(char out[45], const uint8_t key[WG_KEY_LEN]);
bool wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *s);
void wg_key_to_hex(char out[65], const uint8_t key[WG_KEY_LEN]);
/* Zero key material (never optimised away). */
void wg_memzero(void *p, size_t len);

#endif
