/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the team plugin's JSON check (plugins/net-team/
 * team-config.c), which sees a caller's TeamConfig before NetworkManager
 * does. Promises checked beyond "does not crash" (deep nesting, long
 * strings, bad UTF-8 and escapes are the inputs that matter): a refusal
 * has a reason, bounded; an accepted text is one JSON value json-glib
 * parses too.
 * Input: the JSON text (a NUL ends it early).
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-check.h"
#include "team-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_autofree char *text = g_strndup((const char *)data, size);
        char *why = NULL;
        if (team_json_check(text, &why) == 0) {
                check(!why);
                g_autoptr(JsonParser) parser = json_parser_new();
                check(json_parser_load_from_data(parser, text, -1, NULL));
        } else {
                check(why && *why);
                check(strlen(why) < FUZZ_REASON_MAX);
        }
        g_free(why);
        return 0;
}
