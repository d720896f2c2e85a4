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
#include <syslog.h>

/* Parse "err", "warning", "info", "debug" (or 3..7). Returns the priority or
 * -1 if the name is unknown. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

void log_set_max_level(int level);
int log_get_max_level(void);
/* Force stderr output even under systemd (tests want to read the lines). */
void log_set_force_stderr(int force);

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
