// SPDX-License-Identifier: MIT
/*
 * bench_crypto: what the data path's AEAD costs per packet.
 *
 * Measures, at inner packet sizes of 64, 512 and 1420 bytes, in bursts of 32:
 *   - tunnels/ wg_encrypt_burst() on an established session, and
 *     wg_decrypt_burst() of messages encrypted for it (replay window, allowed-ips
 *     and all), next to the library's raw AEAD call (wg_aead_seal/wg_aead_open);
 *   - raw ChaCha20-Poly1305 from OpenSSL 3 EVP (as tunnels/crypto.c uses it),
 *     libsodium, and Intel ipsec-mb (job API one job at a time, job API with 32
 *     jobs queued, burst API with 32 jobs) when meson found it
 *     (HOPMESH_HAVE_IPSEC_MB).
 * Every row: warm-up, then --runs runs of about --time-ms each. Each run is cut
 * into --slices slices and the rows of one packet size take turns slice by
 * slice, so that a burst of noise on a shared machine hits all rows alike and
 * the ratios compare measurements taken moments apart.
 *
 * Time is read with rdtsc (reference cycles at the invariant TSC frequency,
 * calibrated against CLOCK_MONOTONIC at start); ns = cycles / TSC GHz and
 * Gbit/s = inner bytes * 8 / ns.
 */
#if !defined(__x86_64__)
#error "bench_crypto reads the TSC: x86-64 only"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/ip.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#ifdef HOPMESH_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#endif

#include "tunnels.h"
#include "bench_env.h"
#include "wg.h" /* wg_aead_seal/wg_aead_open: the library's raw AEAD */

#define BURST 32
#define MAX_RUNS 15
#define MAX_SIZES 8
#define BUF_LEN 2048 /* 16 header room + 1420 + tailroom, rounded up */
#define PAYLOAD_OFF WG_DATA_HEADER_LEN
#define CHUNK_MSGS 8192 /* messages pre-encrypted at a time for the decrypt rows */
#define BENCH_NOW (1000 * NS_PER_S) /* injected monotonic clock, never moves */

/* ---------------------------------------------------------------- timing */

static double tsc_hz;

static inline uint64_t tsc_begin(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t tsc_end(void)
{
	unsigned int aux;
	uint64_t t = __rdtscp(&aux);

	_mm_lfence();
	return t;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static double median_of(const double *v, unsigned n, double *min, double *max)
{
	double s[MAX_RUNS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	if (min)
		*min = s[0];
	if (max)
		*max = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Busy-wait ms against CLOCK_MONOTONIC three times; the median is the rate. */
static void calibrate_tsc(unsigned ms)
{
	double r[3];

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = mono_ns(), c0 = tsc_begin(), t1, c1;

		do
			t1 = mono_ns();
		while (t1 - t0 < ms * 1000000ull);
		c1 = tsc_end();
		r[i] = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	}
	tsc_hz = median_of(r, 3, NULL, NULL);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_crypto: %s\n", what);
	exit(1);
}

/* ------------------------------------------------- raw AEADs, one packet */

static uint8_t key[WG_KEY_LEN];

static void nonce_of(uint8_t iv[12], uint64_t counter)
{
	memset(iv, 0, 4);
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* seal: len bytes of plaintext src -> ciphertext at dst, tag at dst + len.
 * open: len bytes of ciphertext then tag at src -> len - 16 bytes at dst;
 * false if the tag does not verify. */
typedef bool (*aead_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce);

static struct wg_crypto *lib_crypto;

static bool lib_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	return wg_aead_seal(lib_crypto, dst, src, len, NULL, 0, nonce, key);
}

static bool lib_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	return wg_aead_open(lib_crypto, dst, src, len, NULL, 0, nonce, key);
}

/* OpenSSL 3 EVP exactly as tunnels/crypto.c drives it: one context per
 * direction bound to the cipher once, re-keyed per packet with
 * EVP_EncryptInit_ex2(ctx, NULL, key, iv, NULL). */
static EVP_CIPHER *ossl_cipher;
static EVP_CIPHER_CTX *ossl_seal_ctx, *ossl_open_ctx;

static void ossl_init(void)
{
	ossl_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	ossl_seal_ctx = EVP_CIPHER_CTX_new();
	ossl_open_ctx = EVP_CIPHER_CTX_new();
	if (!ossl_cipher || !ossl_seal_ctx || !ossl_open_ctx ||
	    !EVP_EncryptInit_ex2(ossl_seal_ctx, ossl_cipher, NULL, NULL, NULL) ||
	    !EVP_DecryptInit_ex2(ossl_open_ctx, ossl_cipher, NULL, NULL, NULL))
		die("OpenSSL ChaCha20-Poly1305 unavailable");
}

static bool ossl_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	EVP_CIPHER_CTX *ctx = ossl_seal_ctx;
	uint8_t iv[12];
	int outl;

	nonce_of(iv, nonce);
	if (!EVP_EncryptInit_ex2(ctx, NULL, key, iv, NULL))
		return false;
	if (len && !EVP_EncryptUpdate(ctx, dst, &outl, src, (int)len))
		return false;
	if (!EVP_EncryptFinal_ex(ctx, dst + len, &outl))
		return false;
	return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WG_TAG_LEN, dst + len) == 1;
}

static bool ossl_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	EVP_CIPHER_CTX *ctx = ossl_open_ctx;
	uint8_t iv[12], tag[WG_TAG_LEN];
	size_t plain = len - WG_TAG_LEN;
	int outl;

	memcpy(tag, src + plain, WG_TAG_LEN);
	nonce_of(iv, nonce);
	if (!EVP_DecryptInit_ex2(ctx, NULL, key, iv, NULL))
		return false;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WG_TAG_LEN, tag))
		return false;
	if (plain && !EVP_DecryptUpdate(ctx, dst, &outl, src, (int)plain))
		return false;
	return EVP_DecryptFinal_ex(ctx, dst + plain, &outl) == 1;
}

static bool sodium_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	uint8_t iv[12];

	nonce_of(iv, nonce);
	return crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len,
								  NULL, 0, NULL, iv, key) == 0;
}

static bool sodium_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	uint8_t iv[12];
	size_t plain = len - WG_TAG_LEN;

	nonce_of(iv, nonce);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, plain, src + plain,
								  NULL, 0, iv, key) == 0;
}

#ifdef HOPMESH_HAVE_IPSEC_MB
/* ipsec-mb only computes the tag, also when decrypting: the caller compares it
 * (in constant time) with the received one, and that compare is timed too. */
static IMB_MGR *imb;
static IMB_ARCH imb_arch;
static uint8_t imb_aad_dummy[16];

static const char *imb_arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_NOAESNI:
		return "no-AESNI";
	case IMB_ARCH_SSE:
		return "SSE";
	case IMB_ARCH_AVX:
		return "AVX";
	case IMB_ARCH_AVX2:
		return "AVX2";
	case IMB_ARCH_AVX512:
		return "AVX512";
	default:
		return "none";
	}
}

static void imb_fill(IMB_JOB *job, IMB_CIPHER_DIRECTION dir, uint8_t *dst, const uint8_t *src,
		     size_t len, const uint8_t *iv, uint8_t *tag)
{
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->cipher_direction = dir;
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->enc_keys = key;
	job->dec_keys = key;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	job->src = src;
	job->dst = dst;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = len;
	job->iv = iv;
	job->iv_len_in_bytes = 12;
	job->u.CHACHA20_POLY1305.aad = imb_aad_dummy;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
	job->auth_tag_output = tag;
	job->auth_tag_output_len_in_bytes = WG_TAG_LEN;
}

/* One job at a time: submit, and flush if the manager kept it queued. */
static IMB_JOB *imb_one(IMB_CIPHER_DIRECTION dir, uint8_t *dst, const uint8_t *src, size_t len,
			const uint8_t *iv, uint8_t *tag)
{
	IMB_JOB *job = IMB_GET_NEXT_JOB(imb);

	imb_fill(job, dir, dst, src, len, iv, tag);
	job = IMB_SUBMIT_JOB(imb);
	if (!job)
		job = IMB_FLUSH_JOB(imb);
	return job && job->status == IMB_STATUS_COMPLETED ? job : NULL;
}

static bool imb_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	uint8_t iv[12];

	nonce_of(iv, nonce);
	return imb_one(IMB_DIR_ENCRYPT, dst, src, len, iv, dst + len) != NULL;
}

static bool imb_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t nonce)
{
	uint8_t iv[12], tag[WG_TAG_LEN];
	size_t plain = len - WG_TAG_LEN;

	nonce_of(iv, nonce);
	return imb_one(IMB_DIR_DECRYPT, dst, src, plain, iv, tag) &&
	       CRYPTO_memcmp(tag, src + plain, WG_TAG_LEN) == 0;
}

/* Does job k of a burst count as done right? Decryption compares the tag the
 * job computed with the one received after the ciphertext. */
static bool imb_job_ok(const IMB_JOB *job, IMB_CIPHER_DIRECTION dir, uint8_t *const *src,
		       size_t len, uint8_t (*tags)[WG_TAG_LEN])
{
	unsigned k = (unsigned)(uintptr_t)job->user_data;

	return job->status == IMB_STATUS_COMPLETED &&
	       (dir == IMB_DIR_ENCRYPT || CRYPTO_memcmp(tags[k], src[k] + len, WG_TAG_LEN) == 0);
}

/* A burst of n packets through the job API's queue: all n jobs submitted (the
 * manager may hold some to fill its lanes), then the rest flushed. For
 * decryption the computed tags land in tags[] and are compared with
 * src[i] + len. Returns how many failed. */
static unsigned imb_queue(IMB_CIPHER_DIRECTION dir, uint8_t *const *dst, uint8_t *const *src,
			  size_t len, uint8_t (*iv)[12], uint8_t (*tags)[WG_TAG_LEN], unsigned n)
{
	unsigned done = 0, bad = 0;
	IMB_JOB *job;

	for (unsigned i = 0; i < n; i++) {
		job = IMB_GET_NEXT_JOB(imb);
		imb_fill(job, dir, dst[i], src[i], len, iv[i],
			 dir == IMB_DIR_ENCRYPT ? dst[i] + len : tags[i]);
		job->user_data = (void *)(uintptr_t)i;
		job = IMB_SUBMIT_JOB(imb);
		while (job) {
			done++;
			bad += !imb_job_ok(job, dir, src, len, tags);
			job = IMB_GET_COMPLETED_JOB(imb);
		}
	}
	while (done < n && (job = IMB_FLUSH_JOB(imb)) != NULL) {
		done++;
		bad += !imb_job_ok(job, dir, src, len, tags);
	}
	return bad + (n - done);
}

/* The same through the burst API of ipsec-mb 1.3: get n jobs, fill them, one
 * submit_burst, then flush_burst until all n came back. */
static unsigned imb_burst(IMB_CIPHER_DIRECTION dir, uint8_t *const *dst, uint8_t *const *src,
			  size_t len, uint8_t (*iv)[12], uint8_t (*tags)[WG_TAG_LEN], unsigned n)
{
	IMB_JOB *jobs[IMB_MAX_BURST_SIZE];
	unsigned done, bad = 0;

	if (IMB_GET_NEXT_BURST(imb, n, jobs) < n)
		return n; /* never: every burst is flushed completely */
	for (unsigned i = 0; i < n; i++) {
		imb_fill(jobs[i], dir, dst[i], src[i], len, iv[i],
			 dir == IMB_DIR_ENCRYPT ? dst[i] + len : tags[i]);
		jobs[i]->user_data = (void *)(uintptr_t)i;
	}
	done = IMB_SUBMIT_BURST(imb, n, jobs);
	if (done == 0 && imb_get_errno(imb) != 0)
		return n;
	for (unsigned i = 0; i < done; i++)
		bad += !imb_job_ok(jobs[i], dir, src, len, tags);
	while (done < n) {
		unsigned k = IMB_FLUSH_BURST(imb, n - done, jobs);

		if (k == 0)
			break;
		for (unsigned i = 0; i < k; i++)
			bad += !imb_job_ok(jobs[i], dir, src, len, tags);
		done += k;
	}
	return bad + (n - done);
}

/* arch: "auto" (the best the CPU supports), or force avx512, avx2, avx, sse. */
static void imb_init(const char *arch)
{
	imb = alloc_mb_mgr(0);
	if (!imb)
		die("ipsec-mb: alloc_mb_mgr failed");
	if (!strcmp(arch, "auto")) {
		init_mb_mgr_auto(imb, &imb_arch);
	} else if (!strcmp(arch, "avx512")) {
		init_mb_mgr_avx512(imb);
		imb_arch = IMB_ARCH_AVX512;
	} else if (!strcmp(arch, "avx2")) {
		init_mb_mgr_avx2(imb);
		imb_arch = IMB_ARCH_AVX2;
	} else if (!strcmp(arch, "avx")) {
		init_mb_mgr_avx(imb);
		imb_arch = IMB_ARCH_AVX;
	} else if (!strcmp(arch, "sse")) {
		init_mb_mgr_sse(imb);
		imb_arch = IMB_ARCH_SSE;
	} else {
		die("--imb-arch: auto, avx512, avx2, avx or sse");
	}
	if (imb_get_errno(imb) != 0) {
		fprintf(stderr, "bench_crypto: ipsec-mb init: %s\n", imb_get_strerror(imb_get_errno(imb)));
		exit(1);
	}
}
#endif

/* --------------------------------------------- tunnels/: two devices */

struct node {
	struct wg_device *dev;
	struct wg_peer *peer; /* its view of the other node */
	struct wg_endpoint addr;
	unsigned nsent;
	size_t len[8];
	uint8_t sent[8][256];
};

static struct node node_a, node_b; /* a encrypts, b decrypts */
static struct wg_crypto *crypto_tx, *crypto_rx, *crypto_pre;

static bool node_send(void *ctx, struct wg_peer *peer, const struct wg_endpoint *to,
		      const uint8_t *msg, size_t len)
{
	struct node *n = ctx;

	(void)peer, (void)to;
	if (n->nsent == 8 || len > sizeof(n->sent[0]))
		die("handshake: unexpected message");
	memcpy(n->sent[n->nsent], msg, len);
	n->len[n->nsent++] = len;
	return true;
}

static void node_session_ready(void *ctx, struct wg_peer *peer)
{
	(void)ctx, (void)peer;
}

static void node_free_staged(void *ctx, void *pkt)
{
	(void)ctx;
	free(pkt);
}

static uint64_t node_wall(void *ctx)
{
	(void)ctx;
	return 1700000000ull * NS_PER_S + BENCH_NOW;
}

static void node_log(void *ctx, int level, const char *msg)
{
	(void)ctx, (void)level, (void)msg;
}

static void node_init(struct node *n, const char *ip)
{
	struct wg_ops ops = {
		.ctx = n,
		.send = node_send,
		.session_ready = node_session_ready,
		.free_staged = node_free_staged,
		.wall_ns = node_wall,
		.log = node_log,
	};
	uint8_t priv[WG_KEY_LEN];

	n->dev = wg_device_new(&ops, 10);
	if (!n->dev)
		die("wg_device_new failed");
	randombytes_buf(priv, sizeof(priv));
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	wg_device_set_private_key(n->dev, priv, BENCH_NOW);
	wg_memzero(priv, sizeof(priv));
	n->addr.family = AF_INET;
	n->addr.port = 51820;
	inet_pton(AF_INET, ip, &n->addr.addr.v4);
	wg_device_set_listen_port(n->dev, 51820);
}

static void add_v4(struct wg_peer *p, const char *net, uint8_t cidr)
{
	struct in_addr a;

	inet_pton(AF_INET, net, &a);
	if (wg_peer_allowedip_add(p, AF_INET, &a, cidr) != 0)
		die("allowed-ips");
}

/* Everything "from" sent goes to "to": handshakes through handshake_rx, data
 * (the initiator's confirming keepalive) through decrypt_burst. */
static void deliver(struct node *from, struct node *to, struct wg_crypto *c)
{
	for (unsigned i = 0; i < from->nsent; i++) {
		if (from->sent[i][0] == WG_MSG_DATA) {
			struct wg_rx rx = { .msg = from->sent[i], .len = (uint32_t)from->len[i],
					    .src = from->addr };
			bool attention = false;

			wg_decrypt_burst(c, to->dev, &rx, 1, BENCH_NOW, &attention);
			if (rx.status != WG_OK)
				die("handshake: keepalive rejected");
		} else if (wg_device_handshake_rx(to->dev, from->sent[i], from->len[i], &from->addr,
						  0, BENCH_NOW) != WG_OK) {
			die("handshake: message rejected");
		}
	}
	from->nsent = 0;
}

static void tunnels_init(void)
{
	uint8_t pub_a[WG_KEY_LEN], pub_b[WG_KEY_LEN];
	struct wg_peer_stats sa, sb;

	crypto_tx = wg_crypto_new();
	crypto_rx = wg_crypto_new();
	crypto_pre = wg_crypto_new();
	lib_crypto = wg_crypto_new();
	if (!crypto_tx || !crypto_rx || !crypto_pre || !lib_crypto)
		die("wg_crypto_new failed");
	node_init(&node_a, "192.0.2.1");
	node_init(&node_b, "192.0.2.2");
	wg_device_public_key(node_a.dev, pub_a);
	wg_device_public_key(node_b.dev, pub_b);
	node_a.peer = wg_peer_add(node_a.dev, pub_b);
	node_b.peer = wg_peer_add(node_b.dev, pub_a);
	if (!node_a.peer || !node_b.peer)
		die("wg_peer_add failed");
	wg_peer_set_endpoint(node_a.peer, &node_b.addr);
	wg_peer_set_endpoint(node_b.peer, &node_a.addr);
	add_v4(node_a.peer, "10.2.0.0", 24);
	add_v4(node_b.peer, "10.1.0.0", 24);
	wg_device_commit_allowedips(node_a.dev);
	wg_device_commit_allowedips(node_b.dev);

	wg_peer_initiate(node_a.peer, BENCH_NOW); /* initiation */
	deliver(&node_a, &node_b, crypto_rx);     /* response */
	deliver(&node_b, &node_a, crypto_tx);     /* a has a session, confirms */
	deliver(&node_a, &node_b, crypto_rx);
	wg_device_tick(node_b.dev, BENCH_NOW); /* b moves next -> current */
	wg_device_tick(node_a.dev, BENCH_NOW);
	node_a.nsent = node_b.nsent = 0;
	wg_peer_stats(node_a.peer, &sa);
	wg_peer_stats(node_b.peer, &sb);
	if (!sa.has_session || !sb.has_session)
		die("handshake did not complete");
}

/* An IPv4/UDP packet of len bytes in all, from a's network to b's, at p. */
static void make_inner(uint8_t *p, uint32_t len)
{
	struct iphdr *ip = (struct iphdr *)p;

	memset(p, 0, len);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)len);
	inet_pton(AF_INET, "10.1.0.2", &ip->saddr);
	inet_pton(AF_INET, "10.2.0.2", &ip->daddr);
	for (uint32_t i = sizeof(*ip); i < len; i++)
		p[i] = (uint8_t)i;
}

/* ------------------------------------------------------------- the rows */

enum dir { ENC, DEC };
enum impl {
	I_WG_BURST, /* wg_encrypt_burst / wg_decrypt_burst */
	I_WG_AEAD,  /* wg_aead_seal / wg_aead_open */
	I_OSSL,
	I_SODIUM,
	I_IMB_ONE,   /* job API, one job submitted and flushed at a time */
	I_IMB_QUEUE, /* job API, 32 jobs submitted, then the rest flushed */
	I_IMB_BURST, /* burst API (1.3), 32 jobs in one submit_burst */
	I__COUNT
};
static const char *const impl_name[I__COUNT][2] = {
	[I_WG_BURST] = { "tunnels wg_encrypt_burst", "tunnels wg_decrypt_burst" },
	[I_WG_AEAD] = { "tunnels wg_aead_seal", "tunnels wg_aead_open" },
	[I_OSSL] = { "OpenSSL 3 EVP", "OpenSSL 3 EVP" },
	[I_SODIUM] = { "libsodium", "libsodium" },
	[I_IMB_ONE] = { "ipsec-mb job API, 1 at a time", "ipsec-mb job API, 1 at a time" },
	[I_IMB_QUEUE] = { "ipsec-mb job API, 32 queued", "ipsec-mb job API, 32 queued" },
	[I_IMB_BURST] = { "ipsec-mb burst API, 32 jobs", "ipsec-mb burst API, 32 jobs" },
};

struct row {
	enum impl impl;
	enum dir dir;
	uint32_t size;       /* inner packet */
	uint32_t aead_len;   /* what tunnels/ encrypts of it: padded as send.c pads */
	uint8_t *buf[BURST]; /* PAYLOAD_OFF of room, then the packet, then tailroom */
	uint8_t *src[BURST]; /* raw decrypt: ciphertext and tag at PAYLOAD_OFF */
	uint8_t iv[BURST][12];
	uint8_t tag[BURST][WG_TAG_LEN];
	uint64_t nonce;
	aead_fn fn;
	/* decrypt through tunnels/: pre-encrypted messages */
	uint8_t *chunk;
	uint32_t stride, msg_len, chunk_next, chunk_count;
	uint64_t bursts; /* per slice of a run */
	double cpp[MAX_RUNS]; /* TSC cycles per packet, per run */
	double ratio[MAX_RUNS]; /* against the reference row of the same run */
	double med, min, max, ratio_med;
};

/* send.c pads the plaintext to a multiple of 16, but never beyond the MTU
 * (1420, the device default, which the benchmark keeps). */
static uint32_t padded_len(uint32_t len)
{
	uint32_t padded = (len + 15) & ~15u, limit = len > 1420 ? len : 1420;

	return padded < limit ? padded : limit;
}

static uint8_t *buf_alloc(size_t len)
{
	uint8_t *p = aligned_alloc(64, len);

	if (!p)
		die("out of memory");
	memset(p, 0, len);
	return p;
}

static void fail_run(const struct row *r, uint64_t bad)
{
	fprintf(stderr, "bench_crypto: %s %s %u B: %llu packets failed; run aborted\n",
		impl_name[r->impl][r->dir], r->dir == ENC ? "encrypt" : "decrypt", r->size,
		(unsigned long long)bad);
	exit(2);
}

/* Raw AEAD, one call per packet, over the 32 buffers of a burst. Encryption is
 * in place (as in tunnels/); decryption reads 32 pre-encrypted messages and
 * writes the plaintext to the burst buffers, so the input stays valid. */
static uint64_t run_raw(struct row *r, uint64_t bursts)
{
	size_t len = r->aead_len;
	uint64_t bad = 0, t0, t1;

	if (r->dir == ENC) {
		t0 = tsc_begin();
		for (uint64_t k = 0; k < bursts; k++)
			for (unsigned i = 0; i < BURST; i++)
				bad += !r->fn(r->buf[i] + PAYLOAD_OFF, r->buf[i] + PAYLOAD_OFF, len,
					      r->nonce++);
		t1 = tsc_end();
	} else {
		t0 = tsc_begin();
		for (uint64_t k = 0; k < bursts; k++)
			for (unsigned i = 0; i < BURST; i++)
				bad += !r->fn(r->buf[i] + PAYLOAD_OFF, r->src[i] + PAYLOAD_OFF,
					      len + WG_TAG_LEN, i);
		t1 = tsc_end();
	}
	if (bad)
		fail_run(r, bad);
	return t1 - t0;
}

#ifdef HOPMESH_HAVE_IPSEC_MB
static uint64_t run_imb_burst(struct row *r, uint64_t bursts)
{
	uint8_t *in[BURST];
	uint64_t bad = 0, t0, t1;

	for (unsigned i = 0; i < BURST; i++)
		in[i] = (r->dir == ENC ? r->buf[i] : r->src[i]) + PAYLOAD_OFF;
	t0 = tsc_begin();
	for (uint64_t k = 0; k < bursts; k++) {
		uint8_t *out[BURST];

		for (unsigned i = 0; i < BURST; i++) {
			out[i] = r->buf[i] + PAYLOAD_OFF;
			nonce_of(r->iv[i], r->dir == ENC ? r->nonce++ : i);
		}
		bad += (r->impl == I_IMB_QUEUE ? imb_queue : imb_burst)(
			r->dir == ENC ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT, out, in, r->aead_len, r->iv,
			r->tag, BURST);
	}
	t1 = tsc_end();
	if (bad)
		fail_run(r, bad);
	return t1 - t0;
}
#endif

/* wg_encrypt_burst on the established session, in place, 32 packets a call.
 * Each burst re-arms the wg_tx (peer, msg, plaintext length) as the dataplane
 * does; the plaintext is not restored, since the cost does not depend on it. */
static uint64_t run_wg_encrypt(struct row *r, uint64_t bursts)
{
	struct wg_tx tx[BURST];
	uint64_t bad = 0, t0, t1;

	memset(tx, 0, sizeof(tx));
	t0 = tsc_begin();
	for (uint64_t k = 0; k < bursts; k++) {
		for (unsigned i = 0; i < BURST; i++) {
			tx[i].peer = node_a.peer;
			tx[i].msg = r->buf[i];
			tx[i].len = r->size;
		}
		if (wg_encrypt_burst(crypto_tx, tx, BURST, BENCH_NOW) != BURST)
			for (unsigned i = 0; i < BURST; i++)
				bad += tx[i].status != WG_OK;
	}
	t1 = tsc_end();
	if (bad)
		fail_run(r, bad);
	return t1 - t0;
}

/* Fill the chunk with CHUNK_MSGS fresh messages from a to b (counters keep
 * growing, so b's replay window accepts every one of them exactly once). */
static void chunk_refill(struct row *r)
{
	struct wg_tx tx[BURST];

	for (uint32_t base = 0; base < CHUNK_MSGS; base += BURST) {
		memset(tx, 0, sizeof(tx));
		for (unsigned i = 0; i < BURST; i++) {
			uint8_t *m = r->chunk + (size_t)(base + i) * r->stride;

			make_inner(m + PAYLOAD_OFF, r->size);
			tx[i].peer = node_a.peer;
			tx[i].msg = m;
			tx[i].len = r->size;
		}
		if (wg_encrypt_burst(crypto_pre, tx, BURST, BENCH_NOW) != BURST)
			die("pre-encryption failed");
		r->msg_len = tx[0].len;
	}
	r->chunk_next = 0;
	r->chunk_count = CHUNK_MSGS;
}

/* wg_decrypt_burst of messages a encrypted for b. Before each burst (outside
 * the timed region) 32 pre-encrypted messages are copied into the burst
 * buffers, as a NIC would have written them; only the wg_decrypt_burst call is
 * timed, with rdtsc around each call, and the sum is the run's time. When the
 * chunk is used up, the next CHUNK_MSGS are encrypted, untimed. */
static uint64_t run_wg_decrypt(struct row *r, uint64_t bursts)
{
	struct wg_rx rx[BURST];
	uint64_t bad = 0, sum = 0, t0, t1;
	bool attention = false;

	for (uint64_t k = 0; k < bursts; k++) {
		if (r->chunk_next + BURST > r->chunk_count)
			chunk_refill(r);
		memset(rx, 0, sizeof(rx));
		for (unsigned i = 0; i < BURST; i++) {
			memcpy(r->buf[i], r->chunk + (size_t)r->chunk_next++ * r->stride, r->msg_len);
			rx[i].msg = r->buf[i];
			rx[i].len = r->msg_len;
			rx[i].src = node_a.addr;
		}
		t0 = tsc_begin();
		wg_decrypt_burst(crypto_rx, node_b.dev, rx, BURST, BENCH_NOW, &attention);
		t1 = tsc_end();
		sum += t1 - t0;
		for (unsigned i = 0; i < BURST; i++)
			bad += rx[i].status != WG_OK || rx[i].plain_len != r->size;
	}
	if (bad)
		fail_run(r, bad);
	return sum;
}

static uint64_t run_row(struct row *r, uint64_t bursts)
{
	switch (r->impl) {
	case I_WG_BURST:
		return r->dir == ENC ? run_wg_encrypt(r, bursts) : run_wg_decrypt(r, bursts);
#ifdef HOPMESH_HAVE_IPSEC_MB
	case I_IMB_QUEUE:
	case I_IMB_BURST:
		return run_imb_burst(r, bursts);
#endif
	default:
		return run_raw(r, bursts);
	}
}

static bool impl_available(enum impl i)
{
#ifdef HOPMESH_HAVE_IPSEC_MB
	(void)i;
	return true;
#else
	return i != I_IMB_ONE && i != I_IMB_QUEUE && i != I_IMB_BURST;
#endif
}

static void row_setup(struct row *r, enum impl impl, enum dir dir, uint32_t size)
{
	static const aead_fn fns[I__COUNT][2] = {
		[I_WG_AEAD] = { lib_seal, lib_open },
		[I_OSSL] = { ossl_seal, ossl_open },
		[I_SODIUM] = { sodium_seal, sodium_open },
#ifdef HOPMESH_HAVE_IPSEC_MB
		[I_IMB_ONE] = { imb_seal, imb_open },
#endif
	};

	memset(r, 0, sizeof(*r));
	r->impl = impl;
	r->dir = dir;
	r->size = size;
	r->aead_len = padded_len(size);
	r->fn = fns[impl][dir];
	for (unsigned i = 0; i < BURST; i++) {
		r->buf[i] = buf_alloc(BUF_LEN);
		make_inner(r->buf[i] + PAYLOAD_OFF, size);
	}
	if (impl == I_WG_BURST && dir == DEC) {
		r->stride = (PAYLOAD_OFF + size + WG_DATA_TAILROOM + 63) & ~63u;
		r->chunk = buf_alloc((size_t)r->stride * CHUNK_MSGS);
	} else if (dir == DEC) {
		/* 32 messages under nonces 0..31, sealed by OpenSSL. */
		for (unsigned i = 0; i < BURST; i++) {
			r->src[i] = buf_alloc(BUF_LEN);
			make_inner(r->src[i] + PAYLOAD_OFF, size);
			if (!ossl_seal(r->src[i] + PAYLOAD_OFF, r->src[i] + PAYLOAD_OFF, r->aead_len, i))
				die("OpenSSL seal failed");
		}
	}
}

static void row_free(struct row *r)
{
	for (unsigned i = 0; i < BURST; i++) {
		free(r->buf[i]);
		free(r->src[i]);
	}
	free(r->chunk);
}

/* ----------------------------------------------------- known answers */

/* Every raw implementation must produce OpenSSL's ciphertext and tag, open
 * OpenSSL's message to the plaintext, and refuse it with one bit flipped. */
static void self_test(uint32_t size)
{
	static const struct {
		const char *name;
		aead_fn seal, open;
	} impls[] = {
		{ "wg_aead", lib_seal, lib_open },
		{ "libsodium", sodium_seal, sodium_open },
#ifdef HOPMESH_HAVE_IPSEC_MB
		{ "ipsec-mb", imb_seal, imb_open },
#endif
	};
	uint8_t plain[BUF_LEN], ref[BUF_LEN], out[BUF_LEN], back[BUF_LEN];
	const uint64_t nonce = 0x0123456789abcdefull;

	randombytes_buf(plain, size);
	if (!ossl_seal(ref, plain, size, nonce) || !ossl_open(back, ref, size + WG_TAG_LEN, nonce) ||
	    memcmp(back, plain, size) != 0)
		die("self-test: OpenSSL round trip failed");
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		memset(out, 0, sizeof(out));
		if (!impls[k].seal(out, plain, size, nonce) ||
		    memcmp(out, ref, size + WG_TAG_LEN) != 0 ||
		    !impls[k].open(back, ref, size + WG_TAG_LEN, nonce) ||
		    memcmp(back, plain, size) != 0) {
			fprintf(stderr, "bench_crypto: self-test: %s disagrees with OpenSSL at %u B\n",
				impls[k].name, size);
			exit(1);
		}
		memcpy(out, ref, size + WG_TAG_LEN);
		out[size + 3] ^= 0x10;
		if (impls[k].open(back, out, size + WG_TAG_LEN, nonce)) {
			fprintf(stderr, "bench_crypto: self-test: %s accepted a bad tag\n",
				impls[k].name);
			exit(1);
		}
	}
#ifdef HOPMESH_HAVE_IPSEC_MB
	{
		uint8_t *dst[BURST], *src[BURST];
		uint8_t iv[BURST][12], tags[BURST][WG_TAG_LEN];
		unsigned bad;

		for (unsigned i = 0; i < BURST; i++) {
			dst[i] = buf_alloc(BUF_LEN);
			src[i] = buf_alloc(BUF_LEN);
			memcpy(src[i], plain, size);
			nonce_of(iv[i], nonce + i);
		}
		for (int variant = 0; variant < 2; variant++) {
			unsigned (*fn)(IMB_CIPHER_DIRECTION, uint8_t *const *, uint8_t *const *,
				       size_t, uint8_t(*)[12], uint8_t(*)[WG_TAG_LEN], unsigned) =
				variant ? imb_burst : imb_queue;

			for (unsigned i = 0; i < BURST; i++) {
				memcpy(src[i], plain, size);
				memset(dst[i], 0, BUF_LEN);
			}
			bad = fn(IMB_DIR_ENCRYPT, dst, src, size, iv, tags, BURST);
			for (unsigned i = 0; i < BURST; i++) {
				if (!ossl_seal(ref, plain, size, nonce + i) ||
				    memcmp(ref, dst[i], size + WG_TAG_LEN) != 0)
					bad++;
			}
			dst[BURST - 1][size + 1] ^= 1; /* one bad tag */
			if (bad || fn(IMB_DIR_DECRYPT, src, dst, size, iv, tags, BURST) != 1)
				die("self-test: ipsec-mb burst disagrees with OpenSSL");
			for (unsigned i = 0; i + 1 < BURST; i++)
				if (memcmp(src[i], plain, size) != 0)
					die("self-test: ipsec-mb burst decrypts wrongly");
		}
		for (unsigned i = 0; i < BURST; i++) {
			free(dst[i]);
			free(src[i]);
		}
	}
#endif
}

/* ------------------------------------------------------------ driver */

struct options {
	unsigned runs, time_ms, warmup_ms, slices;
	uint32_t sizes[MAX_SIZES];
	unsigned nsizes;
	int cpu;
	const char *out;
	const char *imb_arch;
};

static double gbps(uint32_t size, double cpp)
{
	return (double)size * 8.0 * (tsc_hz / 1e9) / cpp;
}

static double ns_of(double cpp)
{
	return cpp * 1e9 / tsc_hz;
}

/* Warm-up: double the burst count until one call takes a tenth of a run, keep
 * going until warmup_ms have passed, then size a run to time_ms: r->bursts is
 * what one of its slices does. */
static void warm_up(struct row *r, const struct options *o)
{
	uint64_t target = (uint64_t)(tsc_hz * o->time_ms / 1000.0);
	uint64_t warm = (uint64_t)(tsc_hz * o->warmup_ms / 1000.0);
	uint64_t n = 1, cyc, spent = 0;

	for (;;) {
		cyc = run_row(r, n);
		spent += cyc;
		if (cyc >= target / 10 || n >= (1ull << 40))
			break;
		n *= 2;
	}
	while (spent < warm) {
		cyc = run_row(r, n);
		spent += cyc;
	}
	r->bursts = (uint64_t)((double)n * (double)target / (double)(cyc ? cyc : 1) / o->slices);
	if (r->bursts == 0)
		r->bursts = 1;
}

static struct row *find(struct row *rows, unsigned n, enum impl impl, enum dir dir)
{
	for (unsigned i = 0; i < n; i++)
		if (rows[i].impl == impl && rows[i].dir == dir)
			return &rows[i];
	return NULL;
}

/* All rows of one packet size, interleaved run by run. */
static unsigned bench_size(struct row *rows, uint32_t size, const struct options *o)
{
	unsigned n = 0;

	for (int d = ENC; d <= DEC; d++)
		for (int i = 0; i < I__COUNT; i++)
			if (impl_available((enum impl)i))
				row_setup(&rows[n++], (enum impl)i, (enum dir)d, size);
	for (unsigned i = 0; i < n; i++)
		warm_up(&rows[i], o);
	for (unsigned run = 0; run < o->runs; run++) {
		uint64_t cyc[2 * I__COUNT] = { 0 };

		for (unsigned slice = 0; slice < o->slices; slice++)
			for (unsigned i = 0; i < n; i++)
				cyc[i] += run_row(&rows[i], rows[i].bursts);
		for (unsigned i = 0; i < n; i++)
			rows[i].cpp[run] = (double)cyc[i] /
					   (double)(rows[i].bursts * o->slices * BURST);
		fprintf(stderr, "  %u B: run %u/%u done\n", size, run + 1, o->runs);
	}
	for (unsigned i = 0; i < n; i++) {
		struct row *r = &rows[i];
		/* raw AEADs against OpenSSL EVP, the bursts against the library's
		 * own AEAD call, each from the same run */
		struct row *ref = find(rows, n, r->impl == I_WG_BURST ? I_WG_AEAD : I_OSSL, r->dir);

		for (unsigned run = 0; run < o->runs; run++)
			r->ratio[run] = r->cpp[run] / ref->cpp[run];
		r->med = median_of(r->cpp, o->runs, &r->min, &r->max);
		r->ratio_med = median_of(r->ratio, o->runs, NULL, NULL);
	}
	return n;
}

static void print_rows(FILE *f, bool md, struct row *rows, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char ratio[48];

		if (r->impl == I_WG_BURST)
			snprintf(ratio, sizeof(ratio), "%.2f× wg_aead", r->ratio_med);
		else if (r->impl == I_WG_AEAD)
			snprintf(ratio, sizeof(ratio), "%.2f", r->ratio_med);
		else if (r->impl == I_OSSL)
			snprintf(ratio, sizeof(ratio), "1 (reference)");
		else
			snprintf(ratio, sizeof(ratio), "%.2f", r->ratio_med);
		if (md)
			fprintf(f, "| %u | %s | %s | %.0f | %.0f – %.0f | %.1f | %.2f | %.2f – %.2f | %s |\n",
				r->size, r->dir == ENC ? "encrypt" : "decrypt",
				impl_name[r->impl][r->dir], r->med, r->min, r->max, ns_of(r->med),
				gbps(r->size, r->med), gbps(r->size, r->max), gbps(r->size, r->min),
				ratio);
		else
			fprintf(f, "%5u  %-7s  %-34s %8.0f  (%6.0f..%6.0f) %9.1f %8.2f  %s\n", r->size,
				r->dir == ENC ? "encrypt" : "decrypt", impl_name[r->impl][r->dir],
				r->med, r->min, r->max, ns_of(r->med), gbps(r->size, r->med), ratio);
	}
}

static void print_overhead(FILE *f, bool md, struct row *rows, unsigned n)
{
	for (int d = ENC; d <= DEC; d++) {
		struct row *b = find(rows, n, I_WG_BURST, (enum dir)d);
		struct row *a = find(rows, n, I_WG_AEAD, (enum dir)d);
		struct row *o = find(rows, n, I_OSSL, (enum dir)d);

		if (md)
			fprintf(f, "| %u | %s | %.0f | %.0f | %.0f | %+.0f | %.2f |\n", b->size,
				d == ENC ? "encrypt" : "decrypt", b->med, a->med, o->med, b->med - a->med,
				b->ratio_med);
		else
			fprintf(f, "%5u  %-7s  burst %6.0f  wg_aead %6.0f  OpenSSL %6.0f  overhead %+5.0f cycles/pkt  ratio %.2f\n",
				b->size, d == ENC ? "encrypt" : "decrypt", b->med, a->med, o->med,
				b->med - a->med, b->ratio_med);
	}
}

/* The fastest raw AEAD per size and direction, with its lead over OpenSSL. */
static void print_verdict(FILE *f, bool md, struct row *rows, unsigned n)
{
	for (int d = ENC; d <= DEC; d++) {
		struct row *best = NULL, *o = find(rows, n, I_OSSL, (enum dir)d);

		for (unsigned i = 0; i < n; i++) {
			struct row *r = &rows[i];

			if ((int)r->dir != d || r->impl == I_WG_BURST || r->impl == I_WG_AEAD)
				continue;
			if (!best || r->ratio_med < best->ratio_med)
				best = r;
		}
		fprintf(f, "%s%u B %s: fastest raw AEAD is %s (%.0f cycles/pkt, %.2f Gbit/s; "
			   "OpenSSL EVP %.0f cycles/pkt: %.2f× its time)\n",
			md ? "- " : "  ", best->size, d == ENC ? "encrypt" : "decrypt",
			impl_name[best->impl][best->dir], best->med, gbps(best->size, best->med), o->med,
			best->ratio_med);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_crypto [--out FILE.md] [--runs N] [--time-ms MS] [--warmup-ms MS] [--slices N]\n"
		"                    [--sizes 64,512,1420] [--cpu N] [--imb-arch auto|avx512|avx2|avx|sse]\n");
	exit(64);
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "runs", required_argument, NULL, 'r' },
		{ "time-ms", required_argument, NULL, 't' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "slices", required_argument, NULL, 'l' },
		{ "sizes", required_argument, NULL, 's' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "imb-arch", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .runs = 5, .time_ms = 200, .warmup_ms = 100, .slices = 10, .cpu = -1,
			       .sizes = { 64, 512, 1420 }, .nsizes = 3, .imb_arch = "auto" };
	while ((c = getopt_long(argc, argv, "o:r:t:w:l:s:c:a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->imb_arch = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'r':
			o->runs = (unsigned)atoi(optarg);
			break;
		case 't':
			o->time_ms = (unsigned)atoi(optarg);
			break;
		case 'w':
			o->warmup_ms = (unsigned)atoi(optarg);
			break;
		case 'l':
			o->slices = (unsigned)atoi(optarg);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 's': {
			char *s = optarg, *end;

			o->nsizes = 0;
			while (*s && o->nsizes < MAX_SIZES) {
				unsigned long v = strtoul(s, &end, 10);

				if (end == s || v < 20 || v > 1420) /* an IPv4 header .. the MTU */
					usage();
				o->sizes[o->nsizes++] = (uint32_t)v;
				s = *end == ',' ? end + 1 : end;
				if (*end && *end != ',')
					usage();
			}
			break;
		}
		default:
			usage();
		}
	}
	if (optind != argc || o->runs < 1 || o->runs > MAX_RUNS || o->time_ms < 1 || !o->nsizes ||
	    o->slices < 1)
		usage();
}

int main(int argc, char **argv)
{
	static struct row rows[MAX_SIZES][2 * I__COUNT];
	unsigned nrows[MAX_SIZES];
	char model[256], date[64], arch[64] = "not built";
	struct options o;
	unsigned ncpu;
	double load_start, load_end;
	time_t now = time(NULL);
	FILE *md = NULL;

	parse(argc, argv, &o);
	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			perror("bench_crypto: sched_setaffinity");
			return 1;
		}
	}
	/* Fail now rather than after a minute of measuring, but leave the old
	 * results in place until there are new ones. */
	if (o.out && (!(md = fopen(o.out, "a")) || fclose(md) != 0)) {
		fprintf(stderr, "bench_crypto: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	if (sodium_init() < 0)
		die("sodium_init failed");
	randombytes_buf(key, sizeof(key));
	ossl_init();
#ifdef HOPMESH_HAVE_IPSEC_MB
	imb_init(o.imb_arch);
	snprintf(arch, sizeof(arch), "%s, arch %s", imb_get_version_str(), imb_arch_name(imb_arch));
#endif
	tunnels_init();
	calibrate_tsc(100);
	bench_cpu_model(model, sizeof(model), &ncpu);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));

	printf("bench_crypto: ChaCha20-Poly1305 per packet, bursts of %d\n", BURST);
	printf("CPU:      %s, %u logical CPUs%s\n", model, ncpu,
	       o.cpu >= 0 ? " (pinned)" : "");
	printf("TSC:      %.4f GHz (calibrated against CLOCK_MONOTONIC, 3 x 100 ms)\n", tsc_hz / 1e9);
	printf("Libs:     %s; libsodium %s; ipsec-mb %s\n", OpenSSL_version(OPENSSL_VERSION),
	       sodium_version_string(), arch);
	printf("Method:   warm-up %u ms, then %u runs of ~%u ms per row, each in %u slices interleaved\n"
	       "          with the other rows of its size; median (min..max) of the runs\n\n",
	       o.warmup_ms, o.runs, o.time_ms, o.slices);

	load_start = bench_loadavg();
	for (unsigned s = 0; s < o.nsizes; s++)
		self_test(o.sizes[s]);
	for (unsigned s = 0; s < o.nsizes; s++) {
		fprintf(stderr, "bench_crypto: %u B ...\n", o.sizes[s]);
		nrows[s] = bench_size(rows[s], o.sizes[s], &o);
	}
	load_end = bench_loadavg();

	printf(" size  dir      implementation                     cyc/pkt  (min..max)          ns/pkt   Gbit/s  vs OpenSSL EVP\n");
	for (unsigned s = 0; s < o.nsizes; s++)
		print_rows(stdout, false, rows[s], nrows[s]);
	printf("\ntunnels/ bursts against the library's own AEAD call (wg_aead_seal/wg_aead_open), cycles per packet:\n");
	for (unsigned s = 0; s < o.nsizes; s++)
		print_overhead(stdout, false, rows[s], nrows[s]);
	printf("\n");
	for (unsigned s = 0; s < o.nsizes; s++)
		print_verdict(stdout, false, rows[s], nrows[s]);
	printf("\nLoad average (1 min) before / after: %.2f / %.2f on %u CPUs\n", load_start, load_end,
	       ncpu);

	if (o.out && !(md = fopen(o.out, "w"))) {
		fprintf(stderr, "bench_crypto: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	if (md) {
		fprintf(md, "<!-- generated by perf/bench_crypto on %s; do not edit by hand -->\n", date);
		fprintf(md, "- CPU: %s, %u logical CPUs%s; TSC %.4f GHz\n", model, ncpu,
			o.cpu >= 0 ? " (benchmark pinned to one)" : "", tsc_hz / 1e9);
		fprintf(md, "- Libraries: %s; libsodium %s; ipsec-mb %s\n",
			OpenSSL_version(OPENSSL_VERSION), sodium_version_string(), arch);
		fprintf(md, "- Method: bursts of %d packets; per row %u ms warm-up, then %u runs of ~%u ms, "
			    "each cut into %u slices taken in turn with the other rows of the same size; "
			    "median (min – max) of the runs. Cycles are TSC cycles; "
			    "Gbit/s = inner bytes × 8 / time.\n",
			BURST, o.warmup_ms, o.runs, o.time_ms, o.slices);
		fprintf(md, "- Load average (1 min) before / after the measurement: %.2f / %.2f "
			    "(the machine is shared)\n", load_start, load_end);
		fprintf(md, "- Benchmark command:");
		for (int i = 0; i < argc; i++)
			fprintf(md, i ? " %s" : " `%s", argv[i]);
		fprintf(md, "`\n\n");
		fprintf(md, "| size (B) | direction | implementation | cycles/pkt | cycles/pkt min – max | ns/pkt | Gbit/s | Gbit/s min – max | time vs OpenSSL EVP (median of per-run ratios) |\n");
		fprintf(md, "|---:|---|---|---:|---:|---:|---:|---:|---|\n");
		for (unsigned s = 0; s < o.nsizes; s++)
			print_rows(md, true, rows[s], nrows[s]);
		fprintf(md, "\ntunnels/ bursts against the library's own AEAD call (wg_aead_seal/wg_aead_open), cycles per packet (ratio: median of the per-run ratios):\n\n");
		fprintf(md, "| size (B) | direction | burst | wg_aead | OpenSSL EVP | burst − wg_aead | burst / wg_aead |\n");
		fprintf(md, "|---:|---|---:|---:|---:|---:|---:|\n");
		for (unsigned s = 0; s < o.nsizes; s++)
			print_overhead(md, true, rows[s], nrows[s]);
		fprintf(md, "\nFastest raw AEAD by size and direction (this run):\n\n");
		for (unsigned s = 0; s < o.nsizes; s++)
			print_verdict(md, true, rows[s], nrows[s]);
		if (fclose(md) != 0) {
			fprintf(stderr, "bench_crypto: %s: write failed\n", o.out);
			return 1;
		}
	}

	for (unsigned s = 0; s < o.nsizes; s++)
		for (unsigned i = 0; i < nrows[s]; i++)
			row_free(&rows[s][i]);
	wg_crypto_free(crypto_tx);
	wg_crypto_free(crypto_rx);
	wg_crypto_free(crypto_pre);
	wg_crypto_free(lib_crypto);
	wg_device_free(node_a.dev);
	wg_device_free(node_b.dev);
#ifdef HOPMESH_HAVE_IPSEC_MB
	free_mb_mgr(imb);
#endif
	return 0;
}
