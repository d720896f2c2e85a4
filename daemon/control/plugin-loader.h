/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: finds plugin files in a list of directories, checks
 * each before dlopen() (regular file, owned by root, writable by nobody else,
 * not setuid, an ELF shared object), checks the descriptor it returns (ABI
 * version, size, kind, name, operation table) and calls its init().
 *
 * A refused plugin is logged with its file and the reason, recorded in the
 * set's refusal list and skipped: loading never fails as a whole because of
 * one bad plugin.
 *
 * Directories are given lowest priority first, as they are on the command
 * line: a plugin in a later directory overrides a plugin of the same name in
 * an earlier one (the drop-in directory overrides the packaged one). A file
 * is shadowed without being opened when a later directory has a file of the
 * same file name; two files in one directory declaring the same plugin name
 * are a conflict and the second is refused.
 *
 * Details (plugin-loader.c has the order of the checks):
 *   - Only entries named *.so and not starting with "." are considered;
 *     anything else in a plugin directory is ignored (debug log). A *.so
 *     that is not a regular file (symlink, directory, fifo...) is refused.
 *     The directory path itself may be a symlink; files in it may not.
 *   - Shadowing by file name is decided on the directory listings alone, so
 *     a refused drop-in file still hides the packaged file of that name.
 *   - Overriding by plugin name needs a *loaded* plugin of that name from a
 *     higher-priority directory; names are global across kinds. An
 *     overridden plugin is closed without init() and is not a refusal.
 *   - A directory that cannot be read (other than missing) is recorded as a
 *     refusal with the directory's path; with !allow_insecure, a directory
 *     not owned by root or writable by group/others refuses each *.so in it.
 *   - The same file loaded into two sets at once (a reload while the old
 *     set is still in use) is one dlopen() object: init() runs once per set,
 *     each with its own plugin_data. glibc finds an already loaded object by
 *     its path, so a plugin file replaced on disk is only read again once
 *     every set holding the old one has been freed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lbd-plugin.h"
#include "plugin-set.h"
#include "shared.h"

struct lbd_plugin_loader_options {
        /* Skip the ownership and permission checks on files and directories
         * (lbd --allow-unowned-plugins, for development trees). */
        bool allow_insecure;
        /* What init() receives; NULL means a host that logs through log.h,
         * one per plugin, with the plugin's name as the component (valid
         * until the plugin's fini() returns). A host given here is passed
         * as it is to every plugin and must outlive the set. */
        const struct lbd_host *host;
        /* What the default host's get_shared/set_shared use (shared.h);
         * NULL: plugins share nothing (set_shared fails with -ENOSYS). */
        struct lbd_shared *shared;
};

/* Load every plugin found in dirs[0..n_dirs). A missing directory is not an
 * error (logged at debug level). Returns 0 and a new set, or a negative errno
 * only for failures of the loader itself (out of memory). */
int lbd_plugin_set_load(const char *const *dirs, size_t n_dirs,
                        const struct lbd_plugin_loader_options *options,
                        struct lbd_plugin_set **ret);
