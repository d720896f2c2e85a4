/* SPDX-License-Identifier: MIT */
/*
 * The team runners and teamd's JSON configuration, checked before
 * NetworkManager sees them (pure; cmocka-tested). json-glib parses it,
 * after a strict pass (RFC 8259, nesting bounded) that json-glib 1.6
 * lacks: libnm parses team configurations only through an optional
 * library, and a bad configuration must be refused with a clear sentence
 * saying where (byte, line, column), not stored.
 */
#pragma once

#include <stddef.h>

#include "lbd-plugin.h"

extern const char *const team_runners[];

/* Check Runner and TeamConfig, and that no bond option was given. 0, or
 * -EINVAL and a sentence in *why (g_free) naming what is allowed. If the
 * config names a runner, *ret_config_runner gets it (g_free; may be NULL
 * as an argument). */
int team_check(const struct lbd_link_request *request, char **ret_config_runner, char **why);

/* Just the JSON: 0 if text is one valid JSON value, else -EINVAL and why
 * with the byte offset, line and column of the problem. */
int team_json_check(const char *text, char **why);
