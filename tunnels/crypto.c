// SPDX-License-Identifier: MIT
/*
 * The protocol's primitives, all from libraries: BLAKE2s (hash, keyed MAC, HMAC)
 * from OpenSSL 3; X25519, XChaCha20-Poly1305 and the CSPRNG from libsodium.
 * ChaCha20-Poly1305 comes from Intel ipsec-mb or OpenSSL 3, whichever sealed
 * packets of the size faster when the process first asked (aead_calibrate):
 * which is faster depends on the CPU, not only on its instruction set
 * (docs/PERFORMANCE.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#ifdef HOPMESH_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#endif

#include "wg.h"

static EVP_MD *md_blake2s;
static EVP_MAC *mac_blake2s;
static EVP_MAC *mac_hmac;
static EVP_CIPHER *cipher_chachapoly;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;

static void global_init(void)
{
	if (sodium_init() < 0)
		return;
	md_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	mac_blake2s = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	cipher_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	init_ok = md_blake2s && mac_blake2s && mac_hmac && cipher_chachapoly;
}

bool wg_crypto_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_ok;
}

/* A failure below means OpenSSL itself is broken (allocation, missing provider):
 * continuing would produce wrong MACs that look valid to nobody, so stop. */
static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "tunnels: OpenSSL %s failed\n", what);
		abort();
	}
}

void wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = WG_HASH_LEN;

	must(ctx && EVP_DigestInit_ex2(ctx, md_blake2s, NULL) && EVP_DigestUpdate(ctx, a, alen) &&
		     (!blen || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, &outlen),
	     "BLAKE2s");
	EVP_MD_CTX_free(ctx);
}

/* Keyed BLAKE2s with a 16-byte output: mac1, mac2 and the cookie itself. */
void wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen, const void *a,
	    size_t alen, const void *b, size_t blen)
{
	size_t size = WG_MAC_LEN, outlen;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_blake2s);

	must(ctx && EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, a, alen) &&
		     (!blen || EVP_MAC_update(ctx, b, blen)) &&
		     EVP_MAC_final(ctx, out, &outlen, WG_MAC_LEN) && outlen == WG_MAC_LEN,
	     "BLAKE2SMAC");
	EVP_MAC_CTX_free(ctx);
}

static void hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN], const void *a,
		 size_t alen, const void *b, size_t blen)
{
	char digest[] = "BLAKE2S-256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_hmac);
	size_t outlen;

	must(ctx && EVP_MAC_init(ctx, key, WG_HASH_LEN, params) &&
		     (!alen || EVP_MAC_update(ctx, a, alen)) &&
		     (!blen || EVP_MAC_update(ctx, b, blen)) &&
		     EVP_MAC_final(ctx, out, &outlen, WG_HASH_LEN) && outlen == WG_HASH_LEN,
	     "HMAC-BLAKE2s");
	EVP_MAC_CTX_free(ctx);
}

/* HKDF as the whitepaper defines it: up to three 32-byte outputs. */
void wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[WG_HASH_LEN],
	    const void *input, size_t len)
{
	uint8_t prk[WG_HASH_LEN], out[WG_HASH_LEN];
	uint8_t counter;

	hmac(prk, ck, input, len, NULL, 0);
	counter = 1;
	hmac(out, prk, &counter, 1, NULL, 0);
	memcpy(t1, out, WG_HASH_LEN);
	if (t2) {
		counter = 2;
		hmac(out, prk, out, WG_HASH_LEN, &counter, 1);
		memcpy(t2, out, WG_HASH_LEN);
	}
	if (t3) {
		counter = 3;
		hmac(out, prk, out, WG_HASH_LEN, &counter, 1);
		memcpy(t3, out, WG_HASH_LEN);
	}
	wg_memzero(prk, sizeof(prk));
	wg_memzero(out, sizeof(out));
}

#ifdef HOPMESH_HAVE_IPSEC_MB
/* A multi-buffer manager of our own (they are not thread-safe) with ipsec-mb's
 * best code for this CPU, or NULL. */
static IMB_MGR *imb_new(IMB_ARCH *arch)
{
	IMB_MGR *m = alloc_mb_mgr(0);

	*arch = IMB_ARCH_NONE;
	if (!m)
		return NULL;
	init_mb_mgr_auto(m, arch);
	if (imb_get_errno(m) != 0 || *arch == IMB_ARCH_NONE) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

static const char *imb_arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_AVX512: return "AVX-512";
	case IMB_ARCH_AVX2: return "AVX2";
	case IMB_ARCH_AVX: return "AVX";
	case IMB_ARCH_SSE: return "SSE";
	default: return "?";
	}
}

/* One job, completed before returning. ipsec-mb only computes the tag, also
 * when decrypting: wg_aead_open compares it. */
static bool imb_aead(IMB_MGR *m, IMB_CIPHER_DIRECTION dir, uint8_t *dst, const uint8_t *src,
		     size_t len, const uint8_t *ad, size_t adlen, const uint8_t iv[12],
		     const uint8_t key[WG_KEY_LEN], uint8_t tag[WG_TAG_LEN])
{
	IMB_JOB *job = IMB_GET_NEXT_JOB(m);

	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->cipher_direction = dir;
	job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->enc_keys = key;
	job->dec_keys = key;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	/* Empty messages (keepalives, the response's "nothing") may come with
	 * NULL buffers; ipsec-mb wants pointers anyway and touches none. */
	job->src = src ? src : tag;
	job->dst = dst ? dst : tag;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = len;
	job->iv = iv;
	job->iv_len_in_bytes = 12;
	job->u.CHACHA20_POLY1305.aad = ad ? ad : iv;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = adlen;
	job->auth_tag_output = tag;
	job->auth_tag_output_len_in_bytes = WG_TAG_LEN;
	job = IMB_SUBMIT_JOB(m);
	if (!job)
		job = IMB_FLUSH_JOB(m);
	return job && job->status == IMB_STATUS_COMPLETED;
}
#endif

static void nonce_of(uint8_t iv[12], uint64_t counter)
{
	memset(iv, 0, 4);
	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* OpenSSL's sequence. dst gets len bytes of ciphertext, tag the 16-byte tag. */
static bool ossl_seal(EVP_CIPHER_CTX *ctx, uint8_t *dst, uint8_t *tag, const uint8_t *src, size_t len,
		      const uint8_t *ad, size_t adlen, const uint8_t iv[12], const uint8_t key[WG_KEY_LEN])
{
	int outl;

	if (!EVP_EncryptInit_ex2(ctx, NULL, key, iv, NULL))
		return false;
	if (adlen && !EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)adlen))
		return false;
	if (len && !EVP_EncryptUpdate(ctx, dst, &outl, src, (int)len))
		return false;
	if (!EVP_EncryptFinal_ex(ctx, tag, &outl))
		return false;
	return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WG_TAG_LEN, tag) == 1;
}

#ifdef HOPMESH_HAVE_IPSEC_MB
/* Size classes of the AEAD choice: up to 64, 128, 256, 512 and 1024 bytes,
 * and above. Each is timed at CLASS_PROBE[] bytes. */
#define AEAD_CLASSES 6
static const size_t CLASS_PROBE[AEAD_CLASSES] = { 64, 128, 256, 512, 1024, 1420 };

static unsigned aead_class(size_t len)
{
	unsigned c = len <= 64 ? 0 : 64 - (unsigned)__builtin_clzll(len - 1) - 6;

	return c < AEAD_CLASSES ? c : AEAD_CLASSES - 1;
}

static inline bool by_imb(const struct wg_crypto *c, size_t len)
{
	return c->imb_classes >> aead_class(len) & 1;
}

/* Which sizes ipsec-mb seals faster than OpenSSL here: a bit per class, set
 * when it won. Instruction sets do not decide it: with AVX-512 ipsec-mb took
 * 0.36-0.48 of OpenSSL's time on one AMD EPYC, with AVX2 0.54-0.75 on another,
 * and forced to AVX2 on the first 1.15 at 1420 bytes (docs/PERFORMANCE.md).
 * So each process times both, once, like the kernel's RAID6 code picking its
 * routines at boot: per class, AEAD_ROUNDS rounds, each AEAD_REPS seals with
 * one library then the other, and each library's best round. Best rounds,
 * because noise on a shared machine only ever adds time. 2.7-2.9 ms on a Zen 1 EPYC. */
#define AEAD_ROUNDS 5
#define AEAD_REPS 32

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned imb_classes;
static pthread_once_t calibrate_once = PTHREAD_ONCE_INIT;

static void aead_calibrate(void)
{
	static const uint8_t key[WG_KEY_LEN] = { 1 }, ad[1] = { 0 };
	uint8_t iv[12] = { 0 }, tag[WG_TAG_LEN], *buf = malloc(2048);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	IMB_ARCH arch;
	IMB_MGR *m = imb_new(&arch);

	if (!buf || !ctx || !m || !EVP_EncryptInit_ex2(ctx, cipher_chachapoly, NULL, NULL, NULL))
		goto out;
	memset(buf, 0x5a, 2048);
	for (unsigned k = 0; k < AEAD_CLASSES; k++) {
		uint64_t best_imb = UINT64_MAX, best_ossl = UINT64_MAX;

		for (unsigned r = 0; r <= AEAD_ROUNDS; r++) {
			uint64_t t0 = now_ns(), t1, t2;
			bool ok = true;

			for (unsigned i = 0; i < AEAD_REPS; i++)
				ok &= imb_aead(m, IMB_DIR_ENCRYPT, buf, buf, CLASS_PROBE[k], ad, 0, iv, key, tag);
			t1 = now_ns();
			for (unsigned i = 0; i < AEAD_REPS; i++)
				ok &= ossl_seal(ctx, buf, tag, buf, CLASS_PROBE[k], ad, 0, iv, key);
			t2 = now_ns();
			if (!ok) { /* a library that fails here is not one to use */
				imb_classes = 0;
				goto out;
			}
			if (r == 0)
				continue; /* warm-up: caches, lazy binding */
			best_imb = t1 - t0 < best_imb ? t1 - t0 : best_imb;
			best_ossl = t2 - t1 < best_ossl ? t2 - t1 : best_ossl;
		}
		if (best_imb < best_ossl)
			imb_classes |= 1u << k;
	}
out:
	if (m)
		free_mb_mgr(m);
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
}

/* "ipsec-mb (AVX2) for 257-512, 513-1024 B; OpenSSL 3 EVP otherwise". */
static void aead_describe(char *buf, size_t size, IMB_ARCH arch, unsigned classes)
{
	static const char *const name[AEAD_CLASSES] = { "<= 64", "65-128", "129-256", "257-512", "513-1024",
							 "> 1024" };
	size_t n = (size_t)snprintf(buf, size, "ipsec-mb (%s) for", imb_arch_name(arch));
	const char *sep = " ";

	for (unsigned k = 0; k < AEAD_CLASSES && n < size; k++)
		if (classes & (1u << k)) {
			n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, name[k]);
			sep = ", ";
		}
	if (n < size)
		snprintf(buf + n, size - n, " B; OpenSSL 3 EVP otherwise");
}
#endif

struct wg_crypto *wg_crypto_new(void)
{
	struct wg_crypto *c;

	if (!wg_crypto_global_init())
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->seal = EVP_CIPHER_CTX_new();
	c->open = EVP_CIPHER_CTX_new();
	/* Bind the cipher once; per packet only key and nonce change. */
	if (!c->seal || !c->open ||
	    !EVP_EncryptInit_ex2(c->seal, cipher_chachapoly, NULL, NULL, NULL) ||
	    !EVP_DecryptInit_ex2(c->open, cipher_chachapoly, NULL, NULL, NULL)) {
		wg_crypto_free(c);
		return NULL;
	}
#ifdef HOPMESH_HAVE_IPSEC_MB
	/* HOPMESH_AEAD=openssl or =ipsec-mb takes one library for every size,
	 * for comparison and as a way out; anything else, the timed choice. */
	const char *choice = getenv("HOPMESH_AEAD");
	IMB_ARCH arch;

	if (choice && !strcmp(choice, "openssl"))
		return c;
	if (choice && !strcmp(choice, "ipsec-mb")) {
		c->imb_classes = (1u << AEAD_CLASSES) - 1;
	} else {
		pthread_once(&calibrate_once, aead_calibrate);
		c->imb_classes = imb_classes;
	}
	if (c->imb_classes && !(c->imb = imb_new(&arch)))
		c->imb_classes = 0;
	if (c->imb_classes == (1u << AEAD_CLASSES) - 1)
		snprintf(c->backend, sizeof(c->backend), "ipsec-mb (%s)", imb_arch_name(arch));
	else if (c->imb_classes)
		aead_describe(c->backend, sizeof(c->backend), arch, c->imb_classes);
#endif
	return c;
}

const char *wg_crypto_backend(const struct wg_crypto *c)
{
	return c->imb_classes ? c->backend : "OpenSSL 3 EVP";
}

void wg_crypto_free(struct wg_crypto *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->seal);
	EVP_CIPHER_CTX_free(c->open);
#ifdef HOPMESH_HAVE_IPSEC_MB
	if (c->imb)
		free_mb_mgr(c->imb);
#endif
	free(c);
}

/* dst gets len bytes of ciphertext followed by the 16-byte tag. */
bool wg_aead_seal(struct wg_crypto *c, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce, const uint8_t key[WG_KEY_LEN])
{
	uint8_t iv[12];

	nonce_of(iv, nonce);
#ifdef HOPMESH_HAVE_IPSEC_MB
	if (by_imb(c, len))
		return imb_aead(c->imb, IMB_DIR_ENCRYPT, dst, src, len, ad, adlen, iv, key, dst + len);
#endif
	return ossl_seal(c->seal, dst, dst + len, src, len, ad, adlen, iv, key);
}

/* src holds len bytes: ciphertext then tag; dst gets len - 16 bytes of plaintext. */
bool wg_aead_open(struct wg_crypto *c, uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce, const uint8_t key[WG_KEY_LEN])
{
	EVP_CIPHER_CTX *ctx = c->open;
	uint8_t iv[12], tag[WG_TAG_LEN];
	size_t plain = len - WG_TAG_LEN;
	int outl;

	if (len < WG_TAG_LEN)
		return false;
	/* The tag may be overwritten when decrypting in place into a shifted buffer. */
	memcpy(tag, src + plain, WG_TAG_LEN);
	nonce_of(iv, nonce);
#ifdef HOPMESH_HAVE_IPSEC_MB
	if (by_imb(c, plain)) {
		uint8_t computed[WG_TAG_LEN];

		return imb_aead(c->imb, IMB_DIR_DECRYPT, dst, src, plain, ad, adlen, iv, key,
				computed) &&
		       CRYPTO_memcmp(computed, tag, WG_TAG_LEN) == 0;
	}
#endif
	if (!EVP_DecryptInit_ex2(ctx, NULL, key, iv, NULL))
		return false;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WG_TAG_LEN, tag))
		return false;
	if (adlen && !EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)adlen))
		return false;
	if (plain && !EVP_DecryptUpdate(ctx, dst, &outl, src, (int)plain))
		return false;
	/* dst is NULL for an empty plaintext (the response's {}): no arithmetic on
	 * it then, which C leaves undefined even for a zero offset. */
	return EVP_DecryptFinal_ex(ctx, plain ? dst + plain : dst, &outl) == 1;
}

bool wg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL,
							  nonce, key) == 0;
}

bool wg_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							  nonce, key) == 0;
}

/* libsodium refuses (returns -1) when the shared point is all zero, which is
 * exactly the protocol's check against low-order public keys. */
bool wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN])
{
	return crypto_scalarmult(out, priv, pub) == 0;
}

bool wg_pubkey(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	return crypto_scalarmult_base(pub, priv) == 0;
}

void wg_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t wg_random_below(uint32_t bound)
{
	return bound ? randombytes_uniform(bound) : 0;
}

bool wg_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

bool wg_is_zero(const void *a, size_t len)
{
	return sodium_is_zero(a, len) == 1;
}

void wg_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s)
{
	size_t len;
	const char *end;

	if (!s || strlen(s) != 44 || s[43] != '=')
		return false;
	if (sodium_base642bin(key, WG_KEY_LEN, s, 44, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return len == WG_KEY_LEN && *end == '\0';
}

void wg_key_to_base64(char out[45], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(out, 45, key, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *s)
{
	size_t len;
	const char *end;

	if (!s || strlen(s) != 64)
		return false;
	if (sodium_hex2bin(key, WG_KEY_LEN, s, 64, NULL, &len, &end) != 0)
		return false;
	return len == WG_KEY_LEN && *end == '\0';
}

void wg_key_to_hex(char out[65], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2hex(out, 65, key, WG_KEY_LEN);
}
