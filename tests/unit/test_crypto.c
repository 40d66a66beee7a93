// SPDX-License-Identifier: MIT
/*
 * The AEAD behind wg_aead_seal/open, whichever library provides it, must give
 * exactly what an independent implementation gives (libsodium's IETF
 * ChaCha20-Poly1305 with WireGuard's nonce: 4 zero bytes, then the counter
 * little-endian), in place or not, and must refuse any tampering. Run for the
 * default choice (timed per size class, so possibly both libraries), and for
 * each library forced with HOPMESH_AEAD=openssl / =ipsec-mb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "wg.h"

static const size_t sizes[] = { 0, 1, 15, 16, 17, 63, 64, 65, 255, 511, 512, 1419, 1420, 1500, 4000 };

static void wg_nonce(uint8_t out[12], uint64_t counter)
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(counter >> (8 * i));
}

static void check_backend(struct wg_crypto *c)
{
	uint8_t key[32], ad[32], iv[12];
	uint8_t *plain = malloc(4096), *ours = malloc(4096 + 16), *ref = malloc(4096 + 16);
	uint8_t *back = malloc(4096);

	assert_non_null(plain);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k], adlen = k % 2 ? sizeof(ad) : 0;
		uint64_t counter = k == 3 ? WG_REJECT_AFTER_MESSAGES - 1 : (uint64_t)k * 0x0102030405ULL;
		unsigned long long reflen;

		randombytes_buf(key, sizeof(key));
		randombytes_buf(ad, sizeof(ad));
		randombytes_buf(plain, len);
		wg_nonce(iv, counter);

		assert_true(wg_aead_seal(c, ours, plain, len, adlen ? ad : NULL, adlen, counter, key));
		assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(ref, &reflen, plain, len,
									   adlen ? ad : NULL, adlen,
									   NULL, iv, key), 0);
		assert_int_equal(reflen, len + 16);
		assert_memory_equal(ours, ref, len + 16);

		/* Open what the reference sealed, into a separate buffer and in place. */
		assert_true(wg_aead_open(c, back, ref, len + 16, adlen ? ad : NULL, adlen, counter, key));
		assert_memory_equal(back, plain, len);
		memcpy(ours, ref, len + 16);
		assert_true(wg_aead_open(c, ours, ours, len + 16, adlen ? ad : NULL, adlen, counter, key));
		assert_memory_equal(ours, plain, len);
		/* Seal in place. */
		memcpy(ours, plain, len);
		assert_true(wg_aead_seal(c, ours, ours, len, adlen ? ad : NULL, adlen, counter, key));
		assert_memory_equal(ours, ref, len + 16);

		/* Any flipped bit, a wrong counter, key or AD: refused. */
		for (size_t bit = 0; bit < (len + 16) * 8; bit += len > 64 ? 97 : 1) {
			memcpy(ours, ref, len + 16);
			ours[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_false(wg_aead_open(c, back, ours, len + 16, adlen ? ad : NULL, adlen,
						  counter, key));
		}
		assert_false(wg_aead_open(c, back, ref, len + 16, adlen ? ad : NULL, adlen, counter + 1, key));
		key[7] ^= 1;
		assert_false(wg_aead_open(c, back, ref, len + 16, adlen ? ad : NULL, adlen, counter, key));
		key[7] ^= 1;
		if (adlen) {
			ad[0] ^= 1;
			assert_false(wg_aead_open(c, back, ref, len + 16, ad, adlen, counter, key));
		}
		assert_false(wg_aead_open(c, back, ref, 15, NULL, 0, counter, key));
	}
	free(plain);
	free(ours);
	free(ref);
	free(back);
}

static bool cpu_has_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl");
}

/* The timed choice. Without ipsec-mb in the build it can only be OpenSSL. With
 * AVX-512, ipsec-mb took at most half of OpenSSL's time at every size
 * (docs/PERFORMANCE.md), a margin no noise closes: it must win every class,
 * and a choice that timed wrongly, or fell back silently, fails here. Elsewhere
 * either library may win a class; the name must say which, and check_backend's
 * sizes (0 to 4000 bytes) go through every class. */
static void test_default_backend(void **state)
{
	struct wg_crypto *c;
	const char *name;

	(void)state;
	unsetenv("HOPMESH_AEAD");
	c = wg_crypto_new();
	assert_non_null(c);
	name = wg_crypto_backend(c);
	print_message("backend: %s\n", name);
#ifdef HOPMESH_HAVE_IPSEC_MB
	if (cpu_has_avx512())
		assert_string_equal(name, "ipsec-mb (AVX-512)");
	else
		assert_true(!strcmp(name, "OpenSSL 3 EVP") || !strncmp(name, "ipsec-mb (", 10));
#else
	(void)cpu_has_avx512;
	assert_string_equal(name, "OpenSSL 3 EVP");
#endif
	check_backend(c);
	wg_crypto_free(c);
}

/* A wg_crypto with HOPMESH_AEAD=lib, checked throughout; returns its name. */
static void check_forced(const char *lib, char *name, size_t size)
{
	struct wg_crypto *c;

	setenv("HOPMESH_AEAD", lib, 1);
	c = wg_crypto_new();
	unsetenv("HOPMESH_AEAD");
	assert_non_null(c);
	snprintf(name, size, "%s", wg_crypto_backend(c));
	print_message("HOPMESH_AEAD=%s: %s\n", lib, name);
	check_backend(c);
	wg_crypto_free(c);
}

#ifdef HOPMESH_HAVE_IPSEC_MB
/* ipsec-mb for every size, whatever the timing said: its code on this CPU is
 * checked even where OpenSSL won every class. */
static void test_imb_backend(void **state)
{
	char name[128];

	(void)state;
	check_forced("ipsec-mb", name, sizeof(name));
	assert_int_equal(strncmp(name, "ipsec-mb (", 10), 0);
	assert_null(strstr(name, "OpenSSL"));
}
#endif

static void test_openssl_backend(void **state)
{
	char name[128];

	(void)state;
	check_forced("openssl", name, sizeof(name));
	assert_string_equal(name, "OpenSSL 3 EVP");
}

/* BLAKE2s-256("abc"), RFC 7693 appendix B. */
static void test_blake2s(void **state)
{
	static const uint8_t want[32] = {
		0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2, 0xe1, 0xa7, 0x2b, 0xa3, 0x4e, 0xeb, 0x45, 0x2f,
		0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6, 0x3a, 0x29, 0x4d, 0x99, 0x9b, 0x4c, 0x86, 0x67, 0x59, 0x82,
	};
	uint8_t out[32];

	(void)state;
	assert_true(wg_crypto_global_init());
	wg_hash(out, "ab", 2, "c", 1);
	assert_memory_equal(out, want, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_backend),
		cmocka_unit_test(test_openssl_backend),
#ifdef HOPMESH_HAVE_IPSEC_MB
		cmocka_unit_test(test_imb_backend),
#endif
		cmocka_unit_test(test_blake2s),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
