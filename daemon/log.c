/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-journal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Process-wide, set once at startup: see log.h. */
static int max_level = LOG_INFO;
static int force_stderr;

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

void log_fullv(int priority, const char *component, const char *format, va_list ap) {
        if (priority > max_level)
                return;
        int saved_errno = errno;
        char msg[2048];
        vsnprintf(msg, sizeof msg, format, ap);

        if (stderr_is_journal()) {
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
