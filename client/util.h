/* SPDX-License-Identifier: MIT */
/*
 * lbclient's small helpers (util.c): string vectors, allocation that cannot
 * fail (oom() exits), the usage and failure messages with their exit codes,
 * and parsing words of the command line. They know nothing of the bus or
 * of a command.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes, documented in lbclient(1) and --help. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* the operation failed (or the daemon cannot do it) */
        EXIT_USAGE = 2,       /* bad command line */
        EXIT_DENIED = 3,      /* access denied by polkit */
        EXIT_NOT_FOUND = 4,   /* no such service, backend, link */
        EXIT_NOT_RUNNING = 5, /* lbd is not running, or no system bus */
};

void strv_free(char **v);
static inline void strv_freep(char ***p) { strv_free(*p); }
size_t strv_length(char *const *v);
char *strv_join(char *const *v, const char *sep);
int strv_push(char ***v, const char *s);
_Noreturn void oom(void);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int parse_uint(const char *key, const char *s, uint32_t min, uint32_t max, uint32_t *ret);
int parse_bool(const char *key, const char *s, bool *ret);
/* Which of words[] does s abbreviate? Exact match wins; ambiguity is a usage
 * error that lists the candidates. Returns the index, or -1 (message printed). */
int match_word(const char *what, const char *s, const char *const *words, size_t n);
