/* SPDX-License-Identifier: MIT */
/*
 * The registry's codec: standard base64 with padding (RFC 4648 section 4),
 * as records carry public keys and as etcd's JSON API carries keys and
 * values. libsodium does the work; the text is untrusted (a stored record,
 * an etcd answer), so decoding is strict: no spaces or other characters
 * outside the alphabet, the exact padding, and the bits the padding drops
 * zero (one text for each byte string).
 */
#ifndef HOPMESH_REGISTRY_CODEC_H
#define HOPMESH_REGISTRY_CODEC_H

#include <stdbool.h>
#include <stddef.h>

/* The base64 of len bytes, malloc'd; NULL on no memory. */
char *reg_b64_encode(const void *data, size_t len);

/* Decodes textlen characters into out: the number of bytes, or -1 when the
 * text is not strict base64 or decodes to more than outcap bytes (out may
 * then hold a part of it). */
long reg_b64_decode(const char *text, size_t textlen, void *out, size_t outcap);

/* Exactly outlen bytes (a 32-byte key): true, or false with out zeroed
 * when the text is not strict base64 of exactly that many bytes. */
bool reg_b64_decode_exact(const char *text, size_t textlen, void *out, size_t outlen);

#endif
