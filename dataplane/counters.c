// SPDX-License-Identifier: MIT
/* The names of the drop reasons, from the one list in counters.h. */
#include "counters.h"

static const char *const gw_drop_names[] = {
#define _(sym, name, why) [GW_DROP_##sym - WG_DROP__COUNT] = name,
	foreach_gw_drop(_)
#undef _
};
_Static_assert(sizeof(gw_drop_names) / sizeof(gw_drop_names[0]) == GW_DROP__COUNT - WG_DROP__COUNT,
	       "a name for every drop reason");

const char *gw_drop_name(unsigned i)
{
	if (i < WG_DROP__COUNT)
		return wg_drop_name((enum wg_drop)i);
	return i < GW_DROP__COUNT ? gw_drop_names[i - WG_DROP__COUNT] : "unknown";
}
