// SPDX-License-Identifier: MIT
/*
 * Base64 for the registry (registry_codec.h) through libsodium, variant
 * ORIGINAL (standard alphabet, with padding). Encoding sizes the buffer
 * with sodium_base64_ENCODED_LEN. Decoding first refuses bytes outside
 * ASCII (which sodium would misread), then passes no characters to ignore
 * and no end pointer, so sodium refuses anything but whole, canonical
 * base64 of the full text, and a result longer than the buffer.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "registry_codec.h"

#define VARIANT sodium_base64_VARIANT_ORIGINAL

char *reg_b64_encode(const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, VARIANT);
	char *out = malloc(cap);

	if (!out)
		return NULL;
	sodium_bin2base64(out, cap, data, len, VARIANT);
	return out;
}

long reg_b64_decode(const char *text, size_t textlen, void *out, size_t outcap)
{
	size_t n = 0, i;

	/* libsodium 1.0.18 (Debian 12) reads every byte from 0x80 up as '/'
	 * where char is signed (x86): "\xc3AAA" decodes as "/AAA". Base64 is
	 * ASCII, so anything else is refused before sodium sees it. */
	for (i = 0; i < textlen; i++)
		if ((unsigned char)text[i] >= 0x80)
			return -1;
	if (sodium_base642bin(out, outcap, text, textlen, NULL, &n, NULL, VARIANT) != 0)
		return -1;
	return (long)n;
}

bool reg_b64_decode_exact(const char *text, size_t textlen, void *out, size_t outlen)
{
	if (reg_b64_decode(text, textlen, out, outlen) == (long)outlen)
		return true;
	memset(out, 0, outlen);
	return false;
}
