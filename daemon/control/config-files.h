/* SPDX-License-Identifier: MIT */
/*
 * The configuration: a GKeyFile (/etc/lbd/lbd.conf) with drop-ins
 * (/etc/lbd/conf.d/\*.conf) merged over it in lexical order, key by key: a
 * drop-in that sets [daemon] workers= changes only that key, and a
 * [service NAME] group in a drop-in adds to or overrides that service's keys.
 * Without a main file, an embedded default takes its place (one http service
 * "default" on 127.0.0.1:8080, round_robin over 127.0.0.1:8001-8003).
 *
 * Parsing validates everything it can without the rest of the daemon; every
 * error names the file, the group, the key and what was expected. What needs
 * the loaded plugins (does worker-model name a worker plugin?) is checked by
 * the caller, which can name the place with lbd_config_origin().
 *
 * The format, beyond GKeyFile's:
 *  - a '#' at the start of a value or after whitespace starts a comment that
 *    runs to the end of the line ("workers=auto  # 2 * cores + 1"), so a value
 *    cannot contain " #"; surrounding whitespace is dropped;
 *  - lists are ';'-separated; items are trimmed and empty items skipped;
 *  - unknown groups and keys are errors (with a "did you mean" for a close
 *    spelling); integers are decimal digits only, range-checked;
 *  - a drop-in's list value replaces the earlier list (backends= in a drop-in
 *    replaces all of the service's backends);
 *  - checks that need the whole merged configuration (every service has
 *    listen=; no address is listened on by two services) run after merging;
 *  - the state file lbd writes (state.h) is merged last, the same way, and
 *    alone may say [service NAME] removed=true (lbd_config_load_state()).
 *
 * Error messages read "FILE: [GROUP] KEY: what was wrong; expected WHAT";
 * group-level errors leave out KEY; GKeyFile syntax errors read
 * "FILE: line N: GLib's message"; files that cannot be read
 * "FILE: cannot read: reason".
 *
 * Errors follow the daemon's convention (reason.h): a negative errno, -EINVAL
 * for a configuration that is wrong and the errno of the failed call for a
 * file that cannot be read, and the message in *ret_reason (may be NULL).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "config.h"

/* Load main_path (or the embedded default when it does not exist and
 * main_path_required is false), then every *.conf in dropin_dir (may be NULL
 * or missing) in lexical order. 0 with *ret the configuration, or a
 * negative errno (above) and *ret_reason naming file, group, key and what
 * was expected.
 *
 * main_path NULL means LBD_CONFIG_DEFAULT_PATH. Only a main file that does
 * not exist is replaced by the default: one that exists but cannot be read
 * is an error, and so is a drop-in that is a dangling symlink. Drop-ins
 * whose names start with '.', directories and files not ending in ".conf"
 * are ignored. */
int lbd_config_load(const char *main_path, bool main_path_required, const char *dropin_dir,
                    struct lbd_config **ret, char **ret_reason);

/* Parse one configuration held in memory (tests, the embedded default).
 * source_name is what messages call it. NULL when it is wrong (the reason
 * in *ret_reason): nothing is read, so nothing else can fail. */
struct lbd_config *lbd_config_load_from_data(const char *data, const char *source_name,
                                             char **ret_reason);

/* Merge the state file at path (state.h) over base, as one more drop-in
 * after all of base's sources: the same key-by-key merge and the same
 * checks and messages, plus one group form only this file may use,
 *
 *     [service NAME]
 *     removed=true
 *
 * alone in its group: the service is no longer there (a service the files
 * no longer have either is not an error). Returns 1 with *ret a new
 * configuration (base's sources followed by path), 0 with *ret NULL when
 * path does not exist, or a negative errno and *ret_reason (the errno of
 * what failed when path cannot be read, -EINVAL when it does not parse or
 * the merged result is invalid). */
int lbd_config_load_state(const struct lbd_config *base, const char *path,
                          struct lbd_config **ret, char **ret_reason);

/* The configuration as a GKeyFile that the loader reads back to the same
 * values, one canonical text per value (lists ';'-joined, backend and
 * health-check options only where they differ from the defaults, workers=auto
 * for 0, statsd-host=off for none).
 *
 * base NULL: every [daemon] key and every service, whole: parsing the text
 * alone gives config back.
 * base given: only what differs from base, for merging over it with
 * lbd_config_load_state(): each key whose text differs, services base lacks
 * whole, and [service NAME] removed=true for services of base that config
 * lacks. Merging the result over base gives config back (service order
 * aside: a service removed and added again comes back in base's place). */
GKeyFile *lbd_config_to_keyfile(const struct lbd_config *config, const struct lbd_config *base);

/* Name syntax shared with the D-Bus methods that take the same names, so
 * that what AddService or SetPolicy accepts is what the file accepts.
 * A plugin name is [a-z][a-z0-9_]{0,31}; a service name is
 * [A-Za-z0-9_-]{1,64} (it becomes a D-Bus path element and a log field). */
bool lbd_plugin_name_is_valid(const char *name);
bool lbd_service_name_is_valid(const char *name);

/* The text of the embedded default, for `lbd --dump-default-config`. */
extern const char lbd_config_builtin_default[];

