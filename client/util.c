/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "util.h"

_Noreturn void oom(void) {
        fputs("lbclient: out of memory\n", stderr);
        exit(EXIT_FAILED);
}

char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d)
                oom();
        return d;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return s;
}

void strv_free(char **v) {
        for (char **s = v; s && *s; s++)
                free(*s);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_push(char ***v, const char *s) {
        size_t n = strv_length(*v);
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv)
                oom();
        nv[n] = xstrdup(s);
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

char *strv_join(char *const *v, const char *sep) {
        size_t len = 1;
        for (char *const *s = v; s && *s; s++)
                len += strlen(*s) + strlen(sep);
        char *out = malloc(len), *o = out;
        if (!out)
                oom();
        *o = '\0';
        for (char *const *s = v; s && *s; s++)
                o = stpcpy(stpcpy(o, s == v ? "" : sep), *s);
        return out;
}

int usage_error(const char *fmt, ...) {
        va_list ap;
        fputs("lbclient: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see 'lbclient --help')\n", stderr);
        return EXIT_USAGE;
}

int fail(int code, const char *fmt, ...) {
        va_list ap;
        fputs("lbclient: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

int parse_uint(const char *key, const char *s, uint32_t min, uint32_t max, uint32_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (!*s || *end || errno || s[0] == '-' || v < min || v > max)
                return usage_error("%s must be a whole number from %u to %u, not '%s'", key, min,
                                   max, s);
        *ret = (uint32_t)v;
        return EXIT_OK;
}

int parse_bool(const char *key, const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return *ret = true, EXIT_OK;
                if (strcasecmp(s, no[i]) == 0)
                        return *ret = false, EXIT_OK;
        }
        return usage_error("%s must be yes or no, not '%s'", key, s);
}

int match_word(const char *what, const char *s, const char *const *words, size_t n) {
        int found = -1, count = 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(s, words[i]) == 0)
                        return (int)i;
                if (*s && strncmp(words[i], s, strlen(s)) == 0) {
                        found = (int)i;
                        count++;
                }
        }
        if (count == 1)
                return found;
        _cleanup_free_ char *list = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                if (count > 1 && strncmp(words[i], s, strlen(s)) != 0)
                        continue;
                char *l = xasprintf("%s%s%s", list, *list ? ", " : "", words[i]);
                free(list);
                list = l;
        }
        if (count > 1)
                usage_error("%s '%s' is ambiguous: it could be %s", what, s, list);
        else
                usage_error("unknown %s '%s'; expected one of: %s", what, s, list);
        return -1;
}
