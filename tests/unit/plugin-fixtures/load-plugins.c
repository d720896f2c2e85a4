/* SPDX-License-Identifier: MIT */
/*
 * load-plugins: load every plugin in the given directories with the
 * daemon's own loader and print, one per line,
 *
 *     loaded KIND NAME PATH
 *     refused PATH: REASON
 *
 * Usage: load-plugins [--allow-insecure] [--strict] [-v] DIR...
 *   --allow-insecure  skip the ownership and permission checks
 *   --strict          exit 1 when any plugin was refused
 *   -v                log at debug level on stderr (default: warnings)
 *
 * The symbol checks and the out-of-tree plugin test use it; it does not
 * need lbd itself.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "plugin-loader.h"

int main(int argc, char **argv) {
        struct lbd_plugin_loader_options options = { 0 };
        bool strict = false;
        g_autoptr(GPtrArray) dirs = g_ptr_array_new();

        log_set_force_stderr(1);
        log_set_max_level(LOG_WARNING);
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--allow-insecure") == 0)
                        options.allow_insecure = true;
                else if (strcmp(argv[i], "--strict") == 0)
                        strict = true;
                else if (strcmp(argv[i], "-v") == 0)
                        log_set_max_level(LOG_DEBUG);
                else if (argv[i][0] == '-') {
                        fprintf(stderr, "usage: load-plugins [--allow-insecure] [--strict] "
                                        "[-v] DIR...\n");
                        return 2;
                } else
                        g_ptr_array_add(dirs, argv[i]);
        }

        _cleanup_plugin_set_ struct lbd_plugin_set *set = NULL;
        int r = lbd_plugin_set_load((const char *const *)dirs->pdata, dirs->len, &options, &set);
        if (r < 0) {
                fprintf(stderr, "load-plugins: %s\n", g_strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < lbd_plugin_set_size(set); i++) {
                const struct lbd_plugin *p = lbd_plugin_set_get(set, i);
                printf("loaded %s %s %s\n", lbd_plugin_kind_to_string(p->desc->kind),
                       p->desc->name, p->path);
        }
        for (size_t i = 0; i < lbd_plugin_set_n_refusals(set); i++) {
                const struct lbd_plugin_refusal *f = lbd_plugin_set_get_refusal(set, i);
                printf("refused %s: %s\n", f->path, f->reason);
        }
        fflush(stdout);
        return strict && lbd_plugin_set_n_refusals(set) > 0 ? 1 : 0;
}
