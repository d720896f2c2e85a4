/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for daemon/common/address.c (listen=, backends=, AddBackend).
 * Promises checked beyond "does not crash":
 *  - an accepted address's canonical text parses again to the same address
 *    and the same text (it is what the D-Bus paths and the state file keep);
 *  - a refusal comes with a reason, bounded whatever the input's size
 *    (what it echoes is a quoted prefix: common/quote.h).
 * Input: the address text (a NUL ends it early, as it would a C string).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = strndup((const char *)data, size);
        check(text);
        struct lbd_address a;
        char *why = NULL;
        if (lbd_address_parse(text, &a, &why) == 0) {
                check(!why);
                check(a.text[0] && strlen(a.text) < sizeof a.text);
                struct lbd_address again;
                char *why2 = NULL;
                check(lbd_address_parse(a.text, &again, &why2) == 0);
                check(lbd_address_equal(&a, &again));
                check(strcmp(a.text, again.text) == 0);
        } else {
                check(why && *why);
                check(strlen(why) < FUZZ_REASON_MAX);
        }
        free(why);
        free(text);
        return 0;
}
