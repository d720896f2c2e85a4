/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the configuration loader (daemon/control/config-load.c
 * and config-parse.c): the main file and drop-ins' syntax, every [daemon]
 * and [service] key, backends= with its options, health-check= specs.
 * Promises checked beyond "does not crash":
 *  - a refusal has a reason, bounded whatever the input's size;
 *  - an accepted configuration written back (config-write.c, what the state
 *    file and Reload use) loads again, and writes back to the same text.
 * Input: byte 0 picks where the rest goes: 0, a whole file; 1, the value of
 * health-check= in a service; 2, of backends=; 3, of listen=; 4, a [daemon]
 * line. Newlines are kept (a value may end its line and start another).
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "config-files.h"
#include "fuzz-check.h"

static char *input_text(const uint8_t *data, size_t size) {
        if (size == 0)
                return g_strdup("");
        const char *rest = (const char *)data + 1;
        size_t n = size - 1;
        g_autofree char *value = g_strndup(rest, n);
        switch (data[0] % 5) {
        case 1:
                return g_strdup_printf("[service s]\nlisten=127.0.0.1:1\nhealth-check=%s\n", value);
        case 2:
                return g_strdup_printf("[service s]\nlisten=127.0.0.1:1\nbackends=%s\n", value);
        case 3:
                return g_strdup_printf("[service s]\nlisten=%s\n", value);
        case 4:
                return g_strdup_printf("[daemon]\n%s\n", value);
        default:
                return g_strndup(rest, n);
        }
}

static char *written(const struct lbd_config *c) {
        g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(c, NULL);
        return g_key_file_to_data(kf, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        g_autofree char *text = input_text(data, size);
        char *why = NULL;
        struct lbd_config *c = lbd_config_load_from_data(text, "fuzz.conf", &why);
        if (!c) {
                check(why && *why);
                check(strlen(why) < FUZZ_REASON_MAX);
                g_free(why);
                return 0;
        }
        check(!why);
        g_autofree char *first = written(c);
        char *why2 = NULL;
        struct lbd_config *again = lbd_config_load_from_data(first, "written.conf", &why2);
        if (!again)
                fprintf(stderr, "written back, it does not load: %s\n%s", why2, first);
        check(again);
        g_autofree char *second = written(again);
        check(strcmp(first, second) == 0);
        lbd_config_free(again);
        lbd_config_free(c);
        return 0;
}
