/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the journal with structured fields when stderr is connected to
 * it (JOURNAL_STREAM, as systemd sets for services), to stderr otherwise.
 *
 * The target and maximum level are process-wide settings made once at
 * startup, before any other thread or worker exists (as systemd's log.c):
 * threading a logger through every call would buy nothing.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

/* Parse "err", "warning", "info", "debug" (or 3..7). Returns the priority or
 * -1 if the name is unknown. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

void log_set_max_level(int level);
int log_get_max_level(void);
/* Force stderr output even under systemd (tests want to read the lines). */
void log_set_force_stderr(int force);

/* The error log ([daemon] error-log=). "journal" (or NULL): the target
 * above. A path: this process's stderr becomes that file (as nginx does),
 * so lbd's lines, and anything else written to stderr, go there, each line
 * prefixed with the local time and the pid; forked workers inherit it.
 * The file is opened as log_file_open() does. The master calls this at
 * start and for each new configuration (access-log.c: lbd_logs_open()).
 * 0, or -errno (stderr unchanged). */
int log_set_error_log(const char *target, bool share, gid_t gid);
/* Open the error log file again at its path (after a rotation moved it):
 * the master as log_file_open() does; a worker's USR1 handler with
 * log_reopen_error_log_signal_safe() (no allocation, no stdio; keeps
 * errno). 0 or -errno; no-op without a file. */
int log_reopen_error_log(void);
void log_reopen_error_log_signal_safe(void);
/* The error log file's path, or NULL when errors go to the journal. */
const char *log_error_log_path(void);

/* Open path to append log lines: O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC,
 * created 0640, missing parent directories created 0755. With share (a
 * master whose workers run under another uid), the file is the master's
 * with group gid (the workers'), mode 0660: the workers write to it and
 * reopen it through the group, and the master, which under the shipped
 * unit is root without CAP_DAC_OVERRIDE, can open it again at its next
 * start and on USR1. A file the master cannot open (made by logrotate's
 * "create", or given to the workers' user by an earlier lbd) is taken
 * back first with CAP_CHOWN; the logs directory is writable by the master
 * alone, so the path cannot be swapped under it. Returns the fd or
 * -errno. */
int log_file_open(const char *path, bool share, gid_t gid);

/* Log one line. "component" names the part of the daemon (or the plugin) the
 * line is about; it becomes LBD_COMPONENT= in the journal. */
void log_full(int priority, const char *component, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
void log_fullv(int priority, const char *component, const char *format, va_list ap)
        __attribute__((format(printf, 3, 0)));

#define log_error(...) log_full(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, NULL, __VA_ARGS__)

/* The daemon's one error convention (as systemd's log_*_errno()): a
 * function that fails returns a negative errno; the one that decides to
 * log it writes `return log_error_errno(r, "cannot do X: %m");`, where %m
 * is the text of r. Returns -|error|. */
int log_full_errno(int priority, int error, const char *component, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), NULL, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), NULL, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, (error), NULL, __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), NULL, __VA_ARGS__)
