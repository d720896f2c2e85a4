/* SPDX-License-Identifier: MIT */
/*
 * Persisted run-time state (docs/state.md): what the administrator changes
 * over D-Bus lives in STATE_DIR/state.conf, a configuration file in the
 * format of lbd.conf that lbd writes and merges last, after the main file
 * and the drop-ins (config-files.h: lbd_config_load_state()). It holds only the
 * difference between the configuration in effect and the configuration
 * files, so keys the administrator never touched over D-Bus keep following
 * the files.
 *
 * Writing is atomic: STATE_DIR/state.conf.tmp (created 0600), fsync, rename
 * over state.conf, fsync of the directory. A crash at any point leaves the
 * previous state.conf or the new one, never a mix; a stale state.conf.tmp is
 * replaced by the next save and never read.
 *
 * A state file that cannot be read or is invalid (it does not parse, or the
 * merged configuration does not validate: e.g. the files changed under it)
 * is renamed to state.conf.corrupt-YYYYMMDD-HHMMSS, logged at error level,
 * and lbd starts from the files alone; it is never silently discarded.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "config.h"

#define LBD_STATE_FILE_NAME "state.conf"
#define LBD_STATE_TEMP_NAME "state.conf.tmp"
#define LBD_STATE_CORRUPT_PREFIX "state.conf.corrupt-"

/* Merge STATE_DIR/state.conf over files (the configuration files as
 * lbd_config_load() returned them; consumed, also on failure). On success
 * *ret is the configuration to run, with ->base = files; without a state
 * file it equals files.
 *
 * Returns 0 when the state file was merged or does not exist; 1 when it was
 * unusable and has been moved aside (logged at error level, naming the file,
 * the reason and where it went): *ret is then the files alone. With
 * check_only (lbd -t) nothing is moved: an unusable state file is an error.
 * Returns a negative errno and *ret_reason when check_only found the state
 * file unusable, or when it could not be moved aside (lbd must not start
 * then: its next save would overwrite what the file holds). */
int lbd_state_load(const char *state_dir, struct lbd_config *files, bool check_only,
                   struct lbd_config **ret, char **ret_reason);

/* Whether config (from lbd_state_load()) has a state file merged in. */
bool lbd_state_applied(const struct lbd_config *config);

/* The state file turned out unusable after lbd_state_load() merged it
 * (reason, e.g. it names a plugin that is not loaded, starts with the file's
 * name): move it aside and log as lbd_state_load() does, and replace
 * *config with the files alone (*config->base). A negative errno and
 * *ret_reason when it cannot be moved aside (*config unchanged). */
int lbd_state_reject(const char *state_dir, struct lbd_config **config, const char *reason,
                     char **ret_reason);

/* Persist config, the configuration now in effect: its difference from
 * config->base (the whole configuration when base is NULL) goes to
 * STATE_DIR/state.conf atomically, as described above; STATE_DIR is created
 * (0700) if missing. Returns 0 once the new file is durable, or a negative
 * errno and *ret_reason (naming the file): the previous
 * state.conf is then untouched. Blocks for an fsync or two. */
int lbd_state_save(const char *state_dir, const struct lbd_config *config, char **ret_reason);

/* Rename STATE_DIR/state.conf to state.conf.corrupt-YYYYMMDD-HHMMSS (local
 * time; "-2", "-3", ... appended if that name exists) and fsync the
 * directory. Returns 0 with *ret_path the new path, or a negative errno
 * and *ret_reason. */
int lbd_state_move_aside(const char *state_dir, char **ret_path, char **ret_reason);
