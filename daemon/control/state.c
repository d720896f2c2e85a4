/* SPDX-License-Identifier: MIT */
/*
 * The state file: loading it over the configuration files (moving an
 * unusable one aside) and saving it atomically. See state.h.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-files.h"
#include "log.h"
#include "reason.h"
#include "cleanup.h"

static const char state_file_comment[] =
        " Written by lbd: the changes made over D-Bus (org.example.LoadBalancer),\n"
        " merged after the main configuration file and its conf.d drop-ins, key by\n"
        " key. lbd rewrites this file on every change: edit it only while lbd is\n"
        " stopped. Delete it and reload to go back to the configuration files.";

/* "WHAT: strerror(e)" as the reason; returns -e. */
static int errno_reason(char **ret_reason, int e, const char *format, ...) G_GNUC_PRINTF(3, 4);
static int errno_reason(char **ret_reason, int e, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *what = g_strdup_vprintf(format, ap);
        va_end(ap);
        return lbd_reason(ret_reason, -e, "%s: %s", what, g_strerror(e));
}

static int fsync_directory(const char *dir, char **ret_reason) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno_reason(ret_reason, errno, "%s: cannot open the state directory", dir);
        if (fsync(fd) < 0)
                return errno_reason(ret_reason, errno, "%s: cannot sync the state directory", dir);
        return 0;
}

/* ---- moving an unusable file aside ------------------------------------------ */

/* renameat2(RENAME_NOREPLACE), or a check and rename() where the file
 * system does not support it (the state directory is root's alone). */
static int rename_noreplace(const char *from, const char *to) {
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        if (access(to, F_OK) == 0)
                return -EEXIST;
        return rename(from, to) < 0 ? -errno : 0;
}

int lbd_state_move_aside(const char *state_dir, char **ret_path, char **ret_reason) {
        g_autofree char *path = g_build_filename(state_dir, LBD_STATE_FILE_NAME, NULL);
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");

        for (unsigned n = 1;; n++) {
                g_autofree char *name = n == 1 ? g_strconcat(LBD_STATE_CORRUPT_PREFIX, stamp, NULL) :
                                                 g_strdup_printf(LBD_STATE_CORRUPT_PREFIX "%s-%u",
                                                                 stamp, n);
                g_autofree char *target = g_build_filename(state_dir, name, NULL);
                int r = rename_noreplace(path, target);
                if (r == -EEXIST && n < 1000)
                        continue;
                if (r < 0)
                        return errno_reason(ret_reason, -r, "%s: cannot rename it to %s", path,
                                               target);
                r = fsync_directory(state_dir, ret_reason);
                if (r < 0)
                        return r;
                *ret_path = g_steal_pointer(&target);
                return 0;
        }
}

/* ---- loading ------------------------------------------------------------------ */

int lbd_state_load(const char *state_dir, struct lbd_config *files, bool check_only,
                   struct lbd_config **ret, char **ret_reason) {
        g_autoptr(lbd_config) base = files;
        g_autofree char *path = g_build_filename(state_dir, LBD_STATE_FILE_NAME, NULL);
        g_autofree char *state_error = NULL;
        struct lbd_config *merged = NULL;

        int r = lbd_config_load_state(base, path, &merged, &state_error);
        if (r >= 0) {
                if (!merged)
                        merged = lbd_config_copy(base);
                merged->base = g_steal_pointer(&base);
                *ret = merged;
                return 0;
        }

        /* The messages of config.h start with the file's name. */
        if (check_only) {
                return lbd_reason(ret_reason, r,
                                  "%s; the state file is unusable: lbd would move it aside and "
                                  "start from the configuration without it",
                                  state_error);
        }

        struct lbd_config *c = lbd_config_copy(base);
        c->base = g_steal_pointer(&base);
        r = lbd_state_reject(state_dir, &c, state_error, ret_reason);
        if (r < 0) {
                lbd_config_free(c);
                return r;
        }
        *ret = c;
        return 1;
}

bool lbd_state_applied(const struct lbd_config *config) {
        return config->base && config->sources->len > config->base->sources->len;
}

int lbd_state_reject(const char *state_dir, struct lbd_config **config, const char *reason,
                     char **ret_reason) {
        g_autofree char *aside = NULL;
        g_autofree char *move_error = NULL;
        int r = lbd_state_move_aside(state_dir, &aside, &move_error);
        if (r < 0)
                return lbd_reason(ret_reason, r,
                                  "%s; the state file is unusable and cannot be moved aside (%s): "
                                  "lbd does not start, so that nothing overwrites it",
                                  reason, move_error);
        log_error("%s; the state file is unusable: moved it to %s; lbd starts from the "
                  "configuration without the changes it held",
                  reason, aside);

        if (lbd_state_applied(*config)) {
                struct lbd_config *c = *config;
                struct lbd_config *files = g_steal_pointer(&c->base);
                *config = lbd_config_copy(files);
                (*config)->base = files;
                lbd_config_free(c);
        }
        return 0;
}

/* ---- saving ------------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* close() now, checked; the cleanup attribute then has nothing left. */
static int close_now(int *fd) {
        int f = *fd;
        *fd = -1;
        return close(f);
}

int lbd_state_save(const char *state_dir, const struct lbd_config *config, char **ret_reason) {
        g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(config, config->base);
        g_key_file_set_comment(kf, NULL, NULL, state_file_comment, NULL);
        gsize len = 0;
        g_autofree char *data = g_key_file_to_data(kf, &len, NULL);

        g_autofree char *path = g_build_filename(state_dir, LBD_STATE_FILE_NAME, NULL);
        g_autofree char *tmp = g_build_filename(state_dir, LBD_STATE_TEMP_NAME, NULL);

        if (g_mkdir_with_parents(state_dir, 0700) < 0)
                return errno_reason(ret_reason, errno, "%s: cannot create the state directory",
                                       state_dir);

        /* A stale temporary file is what a crash before the rename leaves:
         * never read, replaced here. O_EXCL|O_NOFOLLOW: write a new file of
         * our own, not through whatever sits at that name. */
        if (unlink(tmp) < 0 && errno != ENOENT)
                return errno_reason(ret_reason, errno, "%s: cannot remove the stale file", tmp);
        _cleanup_close_ int fd =
                open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno_reason(ret_reason, errno, "%s: cannot create", tmp);

        int r = write_all(fd, data, len);
        if (r < 0)
                errno_reason(ret_reason, -r, "%s: cannot write", tmp);
        else if (fsync(fd) < 0)
                r = errno_reason(ret_reason, errno, "%s: cannot sync", tmp);
        /* close() reports what a file system defers (NFS, quota). */
        else if (close_now(&fd) < 0)
                r = errno_reason(ret_reason, errno, "%s: cannot write", tmp);
        else if (rename(tmp, path) < 0)
                r = errno_reason(ret_reason, errno, "%s: cannot rename it to %s", tmp, path);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        /* The rename is durable once the directory is. */
        return fsync_directory(state_dir, ret_reason);
}
