// SPDX-License-Identifier: MIT
/*
 * Anti-replay window over the counters of one receiving key, after RFC 6479: a
 * ring of 64-bit words so that sliding forward clears whole words instead of
 * shifting bits. Only counters already authenticated may be checked here, or a
 * forged counter could slide the window and make genuine packets look old.
 */
#include <string.h>

#include "wg.h"

#define WORDS (WG_REPLAY_BITS / 64)

void wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool wg_replay_check(struct wg_replay *r, uint64_t counter)
{
	uint64_t index, current, top;

	if (r->next >= WG_REJECT_AFTER_MESSAGES + 1 || counter >= WG_REJECT_AFTER_MESSAGES)
		return false;
	/* Work with counter + 1 so that "next" can start at 0 meaning nothing seen. */
	++counter;
	if (counter + WG_REPLAY_WINDOW < r->next)
		return false;

	index = counter >> 6;
	if (counter > r->next) {
		current = r->next >> 6;
		top = index - current < WORDS ? index - current : WORDS;
		for (uint64_t i = 1; i <= top; i++)
			r->bitmap[(current + i) & (WORDS - 1)] = 0;
		r->next = counter;
	}
	index &= WORDS - 1;
	uint64_t bit = 1ULL << (counter & 63);
	if (r->bitmap[index] & bit)
		return false;
	r->bitmap[index] |= bit;
	return true;
}
