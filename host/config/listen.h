/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_LISTEN_H
#define FTH_LISTEN_H
/* HOST:PORT values of --listen, --health-listen and their configuration keys. */
#include <stdbool.h>

/* Split "HOST:PORT" ("[v6]:PORT", ":PORT"). host receives a new string (caller frees) or NULL
 * (the default address). False for anything else. */
bool fth_parse_listen(const char *text, char **host, int *port);
#endif
