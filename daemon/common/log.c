/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-journal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Process-wide, set once at startup: see log.h. */
static int max_level = LOG_INFO;
static int force_stderr;

/* The error log file, when error-log= is a path: stderr (fd 2) is that file.
 * Set by the master before it forks; workers inherit it (and the path, to
 * reopen it on USR1). */
static bool error_file;
static char error_path[PATH_MAX];
static bool error_share;
static gid_t error_gid;
static int saved_stderr = -1; /* the stderr lbd started with */

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",  [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",      [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",    [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        if (!s)
                return -1;
        for (int i = 0; i <= LOG_DEBUG; i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -1;
}

const char *log_level_to_string(int level) {
        if (level < 0 || level > LOG_DEBUG)
                return "unknown";
        return level_names[level];
}

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }
void log_set_force_stderr(int force) { force_stderr = force; }

/* True when stderr is the journal's stream socket (systemd sets
 * JOURNAL_STREAM=dev:ino for that socket): then native journal messages with
 * structured fields are better than lines on the stream. */
static int stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        if (!e || force_stderr)
                return 0;
        unsigned long long dev, ino;
        if (sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return 0;
        struct stat st;
        if (fstat(STDERR_FILENO, &st) < 0)
                return 0;
        return st.st_dev == dev && st.st_ino == ino;
}

/* mkdir -p of path's parent directories. */
static int make_parents(const char *path) {
        char dir[PATH_MAX];
        size_t len = strlen(path);
        if (len >= sizeof dir)
                return -ENAMETOOLONG;
        memcpy(dir, path, len + 1);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
                if (*p == '/' || *p == '\0') {
                        char c = *p;
                        *p = '\0';
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = c;
                        if (c == '\0')
                                break;
                }
        }
        return 0;
}

static int open_append(const char *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        return fd < 0 ? -errno : fd;
}

int log_file_open(const char *path, bool share, gid_t gid) {
        int fd = open_append(path);
        if (fd == -ENOENT) {
                int r = make_parents(path);
                if (r < 0)
                        return r;
                fd = open_append(path);
        }
        if (fd == -EACCES && share &&
            fchownat(AT_FDCWD, path, geteuid(), gid, AT_SYMLINK_NOFOLLOW) == 0)
                fd = open_append(path);
        if (fd < 0)
                return fd;
        if (share && (fchown(fd, geteuid(), gid) < 0 || fchmod(fd, 0660) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int log_set_error_log(const char *target, bool share, gid_t gid) {
        if (!target || strcmp(target, "journal") == 0) {
                if (error_file && saved_stderr >= 0)
                        (void)dup2(saved_stderr, STDERR_FILENO);
                error_file = false;
                error_path[0] = '\0';
                return 0;
        }
        if (strlen(target) >= sizeof error_path)
                return -ENAMETOOLONG;
        int fd = log_file_open(target, share, gid);
        if (fd < 0)
                return fd;
        if (saved_stderr < 0)
                saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        int r = dup2(fd, STDERR_FILENO) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        error_file = true;
        strcpy(error_path, target);
        error_share = share;
        error_gid = gid;
        return 0;
}

int log_reopen_error_log(void) {
        if (!error_file)
                return 0;
        int fd = log_file_open(error_path, error_share, error_gid);
        if (fd < 0)
                return fd;
        int r = dup2(fd, STDERR_FILENO) < 0 ? -errno : 0;
        close(fd);
        return r;
}

const char *log_error_log_path(void) { return error_file ? error_path : NULL; }

void log_reopen_error_log_signal_safe(void) {
        if (!error_file)
                return;
        int saved_errno = errno;
        /* The master created the file; a worker may not create files in
         * the directory. */
        int fd = open(error_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                (void)dup2(fd, STDERR_FILENO);
                close(fd);
        }
        errno = saved_errno;
}

/* A line for the error log file: "2024-05-01T12:00:00.123+0200 lbd[42]: …",
 * written with one write() (O_APPEND: lines of several processes do not
 * interleave). */
static void write_file_line(int priority, const char *component, const char *msg) {
        char line[2304];
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        char date[32], zone[8];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(zone, sizeof zone, "%z", &tm);
        int n = snprintf(line, sizeof line, "%s.%03ld%s %s[%d]: %s%s%s%s%s\n", date,
                         ts.tv_nsec / 1000000, zone, program_invocation_short_name,
                         (int)getpid(), priority <= LOG_WARNING ? log_level_to_string(priority) : "",
                         priority <= LOG_WARNING ? ": " : "", component ? component : "",
                         component ? ": " : "", msg);
        if (n < 0)
                return;
        if ((size_t)n >= sizeof line) {
                n = sizeof line;
                line[n - 1] = '\n';
        }
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

void log_fullv(int priority, const char *component, const char *format, va_list ap) {
        if (priority > max_level)
                return;
        int saved_errno = errno;
        char msg[2048];
        vsnprintf(msg, sizeof msg, format, ap);

        if (error_file) {
                write_file_line(priority, component, msg);
        } else if (stderr_is_journal()) {
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", priority,
                                "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                                "LBD_COMPONENT=%s", component ? component : "lbd", NULL);
        } else {
                /* <N> prefixes are what journald and systemd understand on
                 * stderr too, but tests and people read these lines: keep
                 * them plain, with the level spelled out for warnings and
                 * worse. */
                if (component)
                        fprintf(stderr, "%s: %s%s%s: %s\n", program_invocation_short_name,
                                priority <= LOG_WARNING ? log_level_to_string(priority) : "",
                                priority <= LOG_WARNING ? ": " : "", component, msg);
                else
                        fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name,
                                priority <= LOG_WARNING ? log_level_to_string(priority) : "",
                                priority <= LOG_WARNING ? ": " : "", msg);
        }
        errno = saved_errno;
}

void log_full(int priority, const char *component, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        log_fullv(priority, component, format, ap);
        va_end(ap);
}

int log_full_errno(int priority, int error, const char *component, const char *format, ...) {
        int saved_errno = errno;
        error = error < 0 ? -error : error;
        errno = error; /* what %m prints */
        va_list ap;
        va_start(ap, format);
        log_fullv(priority, component, format, ap);
        va_end(ap);
        errno = saved_errno;
        return -error;
}
