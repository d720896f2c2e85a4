/* SPDX-License-Identifier: MIT */
/*
 * Parsing values of the configuration (config-files.h says the format):
 * one validator per kind of value, the table of every key, and the
 * messages, "did you mean" included. config-load.c applies files through
 * config_apply_value(); config-write.c formats values back with the same
 * tables.
 */
#include "config-files.h"
#include "config-keys.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "cleanup.h"
#include "quote.h"

#define HEALTH_CHECK_PATH_MAX 1024u

#define EXPECTED_ADDRESS "HOST:PORT, [IPV6]:PORT or unix:/ABSOLUTE/PATH"
#define EXPECTED_HEALTH_CHECK                                                                 \
        "off, tcp [interval=N rise=N fall=N timeout=N] or http /PATH [expect=200-399] "   \
        "[interval=N rise=N fall=N timeout=N]"

/* ---- small helpers -------------------------------------------------------- */

/* Levenshtein distance, for "did you mean". Words longer than this are not
 * misspelt keys. */
#define SUGGEST_WORD_MAX 64
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        size_t prev[SUGGEST_WORD_MAX + 1], cur[SUGGEST_WORD_MAX + 1];

        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                        cur[j] = MIN(sub, MIN(del, ins));
                }
                memcpy(prev, cur, (lb + 1) * sizeof(size_t));
        }
        return prev[lb];
}

/* The candidate within edit distance 2 of word (the closest, the first on a
 * tie), or NULL. Very short words are left alone: every short word is close
 * to every other. */
const char *config_suggest(const char *word, const char *const *candidates, size_t n) {
        const char *best = NULL;
        size_t best_distance = 3;

        if (strlen(word) < 3 || strlen(word) > SUGGEST_WORD_MAX)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (strlen(candidates[i]) > SUGGEST_WORD_MAX)
                        continue;
                size_t d = edit_distance(word, candidates[i]);
                if (d < best_distance) {
                        best = candidates[i];
                        best_distance = d;
                }
        }
        return best;
}

/* " (did you mean X?)" or "". */
char *config_did_you_mean(const char *word, const char *const *candidates, size_t n) {
        const char *s = config_suggest(word, candidates, n);
        return s ? g_strdup_printf(" (did you mean %s?)", s) : g_strdup("");
}

/* GKeyFile knows comments only on lines of their own; the design's examples
 * put them after values ("workers=auto   # 2 * cores + 1"). A '#' at the
 * start of the value or after whitespace starts such a comment. */
void config_strip_inline_comment(char *value) {
        for (char *p = value; *p; p++)
                if (*p == '#' && (p == value || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                        *p = '\0';
                        break;
                }
        g_strstrip(value);
}

enum uint_status { UINT_OK, UINT_EMPTY, UINT_NOT_NUMBER, UINT_NEGATIVE, UINT_OUT_OF_RANGE };

/* Decimal digits only: no sign, no "0x", no trailing garbage; overflow is
 * out of range rather than wrapping. */
static enum uint_status parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        if (*s == '\0')
                return UINT_EMPTY;
        if (s[0] == '-' && g_ascii_isdigit(s[1]))
                return UINT_NEGATIVE;

        unsigned long long v = 0;
        bool overflow = false;
        for (const char *p = s; *p; p++) {
                if (!g_ascii_isdigit(*p))
                        return UINT_NOT_NUMBER;
                if (!overflow) {
                        v = v * 10 + (unsigned)(*p - '0');
                        if (v > UINT_MAX)
                                overflow = true;
                }
        }
        if (overflow || v < min || v > max)
                return UINT_OUT_OF_RANGE;
        *ret = (unsigned)v;
        return UINT_OK;
}

/* "1-1000", "1-86400 seconds". */
static char *range_text(unsigned min, unsigned max, const char *unit) {
        return g_strdup_printf("%u-%u%s%s", min, max, unit ? " " : "", unit ? unit : "");
}

/* The detail of a bad value of a key ("'x' is not a decimal number; expected
 * 1-1024"); expected is what to ask for. */
static char *uint_value_error(enum uint_status st, const char *value, const char *expected) {
        switch (st) {
        case UINT_EMPTY:
                return g_strdup_printf("the value is empty; expected %s", expected);
        case UINT_NEGATIVE:
                return g_strdup_printf("%s is negative; expected %s", LBD_QUOTE(value), expected);
        case UINT_OUT_OF_RANGE:
                return g_strdup_printf("%s is out of range; expected %s", LBD_QUOTE(value),
                                       expected);
        case UINT_NOT_NUMBER:
        default:
                return g_strdup_printf("%s is not a decimal number; expected %s", LBD_QUOTE(value),
                                       expected);
        }
}

/* The detail of a bad NAME=VALUE option inside a list item; item is the
 * whole item, quoted so the reader finds it in a long list. */
static char *uint_option_error(enum uint_status st, const char *item, const char *name,
                               const char *value, unsigned min, unsigned max, const char *unit) {
        g_autofree char *range = range_text(min, max, unit);
        if (st == UINT_OUT_OF_RANGE)
                return g_strdup_printf("%s: %s must be %s", LBD_QUOTE(item), name, range);
        return g_strdup_printf("%s: %s must be a decimal number %s, not %s", LBD_QUOTE(item), name,
                               range, LBD_QUOTE(value));
}

static bool char_is_name(char c) {
        return g_ascii_isalnum(c) || c == '_' || c == '-';
}

bool lbd_service_name_is_valid(const char *name) {
        size_t n = 0;
        if (!name)
                return false;
        for (; name[n]; n++)
                if (n >= 64 || !char_is_name(name[n]))
                        return false;
        return n > 0;
}

bool lbd_plugin_name_is_valid(const char *name) {
        if (!name || !g_ascii_islower(name[0]))
                return false;
        size_t n = 1;
        for (; name[n]; n++)
                if (n >= 32 ||
                    !(g_ascii_islower(name[n]) || g_ascii_isdigit(name[n]) || name[n] == '_'))
                        return false;
        return true;
}

/* POSIX's portable user (and group) names, as useradd accepts them: a
 * letter or '_', then letters, digits, '_', '.', '-'; at most 32 bytes. */
static bool user_name_is_valid(const char *name) {
        if (!name || !(g_ascii_isalpha(name[0]) || name[0] == '_'))
                return false;
        size_t n = 1;
        for (; name[n]; n++)
                if (n >= 32 || !(char_is_name(name[n]) || name[n] == '.'))
                        return false;
        return true;
}

/* An absolute path of a file (not a directory), printable, below PATH_MAX. */
/* statsd-prefix=: empty, or words of [A-Za-z0-9_-] joined by single dots. */
static bool metric_prefix_is_valid(const char *v) {
        size_t n = strlen(v);
        if (n > LBD_STATSD_PREFIX_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (v[i] == '.') {
                        if (i == 0 || i + 1 == n || v[i + 1] == '.')
                                return false;
                } else if (!g_ascii_isalnum(v[i]) && v[i] != '_' && v[i] != '-') {
                        return false;
                }
        }
        return true;
}

/* dogstatsd-tags=: tags separated by ',', none empty, each of
 * [A-Za-z0-9_.:/-] (DogStatsD's NAME:VALUE or NAME). */
static bool tags_are_valid(const char *v) {
        size_t n = strlen(v);
        if (n == 0 || n > LBD_STATSD_TAGS_MAX || v[0] == ',' || v[n - 1] == ',')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = v[i];
                if (c == ',') {
                        if (v[i + 1] == ',')
                                return false;
                } else if (!g_ascii_isalnum(c) && !strchr("_.:/-", c)) {
                        return false;
                }
        }
        return true;
}

/* A Host header value lbd writes (proxy-host=): host[:port] as RFC 9110
 * allows it, a name, an IPv4 address or a bracketed IPv6 one; at most
 * LBD_PROXY_HOST_MAX bytes. */
static bool proxy_host_is_valid(const char *v) {
        size_t n = strlen(v);
        if (n == 0 || n > LBD_PROXY_HOST_MAX)
                return false;
        size_t i = 0;
        if (v[0] == '[') {
                const char *end = strchr(v, ']');
                if (!end || end == v + 1)
                        return false;
                for (const char *c = v + 1; c < end; c++)
                        if (!g_ascii_isxdigit(*c) && *c != ':' && *c != '.')
                                return false;
                i = (size_t)(end - v) + 1;
        } else {
                for (; i < n && v[i] != ':'; i++)
                        if (!g_ascii_isalnum(v[i]) && v[i] != '-' && v[i] != '.' && v[i] != '_')
                                return false;
                if (i == 0)
                        return false;
        }
        if (i == n)
                return true;
        if (v[i] != ':' || i + 1 == n || n - i - 1 > 5)
                return false;
        for (i++; i < n; i++)
                if (!g_ascii_isdigit(v[i]))
                        return false;
        return true;
}

/* The error for a user or group name that user_name_is_valid() refuses;
 * what is a user or a group name. */
static char *name_error(const char *value, const char *what, const char *or_else) {
        return g_strdup_printf("%s is not a valid %s name; expected a letter or '_', then up "
                               "to 31 letters, digits, '_', '.' or '-'%s", LBD_QUOTE(value), what,
                               or_else);
}

static bool file_path_is_valid(const char *path) {
        size_t n = strlen(path);
        if (n < 2 || path[0] != '/' || path[n - 1] == '/' || n >= PATH_MAX)
                return false;
        for (const char *p = path; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* A log file named without a directory (it goes to --logs-dir): NAME.log,
 * no '/', no control characters. The suffix keeps a misspelt keyword
 * ("Journal", "of") from becoming a file. */
static bool file_name_is_valid(const char *name) {
        size_t n = strlen(name);
        if (n <= 4 || n >= NAME_MAX || strchr(name, '/') || name[0] == '.' ||
            strcmp(name + n - 4, ".log") != 0)
                return false;
        for (const char *p = name; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* ---- values --------------------------------------------------------------- */

/* Each parser returns true and fills *ret, or false with *detail saying
 * "what was wrong; expected what" (the caller adds file, group and key). */

static bool parse_address_list(char **items, GArray **ret, char **detail) {
        g_autoptr(GArray) list = g_array_new(false, true, sizeof(struct lbd_address));

        for (char **i = items; *i; i++) {
                struct lbd_address a;
                _cleanup_free_ char *why = NULL;
                if (lbd_address_parse(*i, &a, &why) < 0) {
                        *detail = g_strdup_printf("%s: %s", LBD_QUOTE(*i),
                                                  why ? why : "out of memory");
                        return false;
                }
                for (guint j = 0; j < list->len; j++)
                        if (lbd_address_equal(&g_array_index(list, struct lbd_address, j), &a)) {
                                *detail = g_strdup_printf(
                                        "%s: %s is listed twice; expected each address once",
                                        LBD_QUOTE(*i), a.text);
                                return false;
                        }
                g_array_append_val(list, a);
        }
        if (list->len == 0) {
                *detail = g_strdup("no address given; expected at least one "
                                   EXPECTED_ADDRESS);
                return false;
        }
        *ret = g_steal_pointer(&list);
        return true;
}

/* Splits "name=value" and finds name in options. Returns 1 and stores the
 * value, 0 when name is not one of options, -1 with *detail on a bad value
 * or a repeated option (seen is a bit per option). */
static int parse_uint_option(const char *token, const struct uint_option *options, size_t n,
                             void *base, unsigned *seen, const char *item, char **detail) {
        const char *eq = strchr(token, '=');
        size_t name_len = eq ? (size_t)(eq - token) : strlen(token);

        for (size_t i = 0; i < n; i++) {
                const struct uint_option *o = &options[i];
                if (strlen(o->name) != name_len || strncmp(o->name, token, name_len) != 0)
                        continue;
                if (!eq) {
                        *detail = g_strdup_printf("%s: %s needs a value, e.g. %s=%u",
                                                  LBD_QUOTE(item),
                                                  o->name, o->name, MAX(o->min, 1u));
                        return -1;
                }
                if (*seen & (1u << i)) {
                        *detail = g_strdup_printf("%s: %s= is given twice; expected it once",
                                                  LBD_QUOTE(item), o->name);
                        return -1;
                }
                unsigned v;
                enum uint_status st = parse_uint(eq + 1, o->min, o->max, &v);
                if (st != UINT_OK) {
                        *detail = uint_option_error(st, item, o->name, eq + 1, o->min, o->max,
                                                    o->unit);
                        return -1;
                }
                *(unsigned *)((char *)base + o->offset) = v;
                *seen |= 1u << i;
                return 1;
        }
        return 0;
}

static char **split_words(const char *s) {
        g_auto(GStrv) parts = g_strsplit_set(s, " \t", -1);
        g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
        for (char **p = parts; *p; p++)
                if (**p)
                        g_ptr_array_add(words, g_strdup(*p));
        g_ptr_array_add(words, NULL);
        return (char **)g_ptr_array_free(g_steal_pointer(&words), false);
}

#define B(field) offsetof(struct lbd_backend_config, field)
static const struct uint_option backend_options[] = {
        { "weight", B(weight), 1, LBD_BACKEND_WEIGHT_MAX, NULL },
        { "max-fails", B(max_fails), 0, LBD_BACKEND_MAX_FAILS_MAX, NULL },
        { "fail-timeout", B(fail_timeout), 1, LBD_BACKEND_FAIL_TIMEOUT_MAX, "seconds" },
        { "max-conns", B(max_conns), 0, LBD_BACKEND_MAX_CONNS_MAX, NULL },
        { "slow-start", B(slow_start), 0, LBD_BACKEND_SLOW_START_MAX, "seconds" },
};
#undef B
const struct config_uint_options config_backend_options = {
        backend_options, G_N_ELEMENTS(backend_options)
};
static const char *const backend_words[] = {
        "weight", "max-fails", "fail-timeout", "max-conns", "slow-start", "backup", "down", "drain",
        "origin",
};

static bool parse_backend(const char *item, struct lbd_backend_config *ret, char **detail) {
        g_auto(GStrv) words = split_words(item);
        struct lbd_backend_config b;
        lbd_backend_config_init(&b);

        _cleanup_free_ char *why = NULL;
        if (lbd_address_parse(words[0], &b.address, &why) < 0) {
                *detail = g_strdup_printf("%s: %s", LBD_QUOTE(item), why ? why : "out of memory");
                return false;
        }

        unsigned seen = 0;
        for (char **w = words + 1; *w; w++) {
                int r = parse_uint_option(*w, backend_options, G_N_ELEMENTS(backend_options), &b,
                                          &seen, item, detail);
                if (r < 0)
                        return false;
                if (r > 0)
                        continue;

                if (g_str_has_prefix(*w, "origin=")) {
                        const char *origin = *w + strlen("origin=");
                        if (b.origin[0]) {
                                *detail = g_strdup_printf("%s: origin is given twice; expected "
                                                          "it once", LBD_QUOTE(item));
                                return false;
                        }
                        if (!lbd_backend_origin_valid(origin)) {
                                *detail = g_strdup_printf("%s: invalid origin %s; expected 1 to "
                                                          "%d of A-Z a-z 0-9 . _ : / @ -",
                                                          LBD_QUOTE(item), LBD_QUOTE(origin),
                                                          LBD_BACKEND_ORIGIN_MAX);
                                return false;
                        }
                        g_strlcpy(b.origin, origin, sizeof b.origin);
                        continue;
                }
                bool *flag = NULL;
                const char *flag_name = NULL;
                if (g_str_has_prefix(*w, "backup") && ((*w)[6] == '\0' || (*w)[6] == '='))
                        flag = &b.backup, flag_name = "backup";
                else if (g_str_has_prefix(*w, "down") && ((*w)[4] == '\0' || (*w)[4] == '='))
                        flag = &b.down, flag_name = "down";
                else if (g_str_has_prefix(*w, "drain") && ((*w)[5] == '\0' || (*w)[5] == '='))
                        flag = &b.drain, flag_name = "drain";
                if (flag) {
                        if (strchr(*w, '=')) {
                                *detail = g_strdup_printf("%s: %s takes no value; expected "
                                                          "the bare word %s", LBD_QUOTE(item),
                                                          flag_name, flag_name);
                                return false;
                        }
                        if (*flag) {
                                *detail = g_strdup_printf("%s: %s is given twice; expected "
                                                          "it once", LBD_QUOTE(item), flag_name);
                                return false;
                        }
                        *flag = true;
                        continue;
                }

                g_autofree char *name = g_strndup(*w, strcspn(*w, "="));
                g_autofree char *hint =
                        config_did_you_mean(name, backend_words, G_N_ELEMENTS(backend_words));
                *detail = g_strdup_printf("%s: unknown option %s%s; expected ADDRESS "
                                          "[weight=N] [max-fails=N] [fail-timeout=N] "
                                          "[max-conns=N] [slow-start=N] [backup] [down] "
                                          "[drain] [origin=TAG]", LBD_QUOTE(item), LBD_QUOTE(*w),
                                          hint);
                return false;
        }

        *ret = b;
        return true;
}

static bool parse_backend_list(char **items, GArray **ret, char **detail) {
        g_autoptr(GArray) list = g_array_new(false, true, sizeof(struct lbd_backend_config));

        for (char **i = items; *i; i++) {
                struct lbd_backend_config b;
                if (!parse_backend(*i, &b, detail))
                        return false;
                for (guint j = 0; j < list->len; j++)
                        if (lbd_address_equal(
                                    &g_array_index(list, struct lbd_backend_config, j).address,
                                    &b.address)) {
                                *detail = g_strdup_printf("%s: backend %s is listed twice; "
                                                          "expected each address once per "
                                                          "service", LBD_QUOTE(*i), b.address.text);
                                return false;
                        }
                g_array_append_val(list, b);
        }
        /* An empty list is fine: backends can be added over D-Bus. */
        *ret = g_steal_pointer(&list);
        return true;
}

#define H(field) offsetof(struct lbd_health_check_config, field)
static const struct uint_option health_check_options[] = {
        { "interval", H(interval), 1, 3600, "seconds" },
        { "rise", H(rise), 1, 100, NULL },
        { "fall", H(fall), 1, 100, NULL },
        { "timeout", H(timeout), 1, 3600, "seconds" },
};
#undef H
const struct config_uint_options config_health_check_options = {
        health_check_options, G_N_ELEMENTS(health_check_options)
};
static const char *const health_check_words[] = {
        "interval", "rise", "fall", "timeout", "expect",
};

/* "200" or "200-399", statuses 100..599. */
static bool parse_expect(const char *s, unsigned *ret_min, unsigned *ret_max) {
        g_autofree char *min_text = g_strndup(s, strcspn(s, "-"));
        const char *dash = strchr(s, '-');
        unsigned min, max;

        if (parse_uint(min_text, 100, 599, &min) != UINT_OK)
                return false;
        if (!dash)
                max = min;
        else if (parse_uint(dash + 1, 100, 599, &max) != UINT_OK || max < min)
                return false;
        *ret_min = min;
        *ret_max = max;
        return true;
}

static bool http_path_is_valid(const char *path) {
        if (path[0] != '/' || strlen(path) > HEALTH_CHECK_PATH_MAX)
                return false;
        /* It goes into a request line: visible ASCII only. */
        for (const char *p = path; *p; p++)
                if (*p < 0x21 || *p > 0x7e)
                        return false;
        return true;
}

static bool parse_health_check(const char *value, struct lbd_health_check_config *ret,
                               char **detail) {
        g_auto(GStrv) words = split_words(value);
        struct lbd_health_check_config h;
        lbd_health_check_config_init(&h);
        /* Owned here until handed over in *ret. */
        g_autofree char *path = NULL;

        if (!words[0]) {
                *detail = g_strdup("the value is empty; expected " EXPECTED_HEALTH_CHECK);
                return false;
        }

        char **options;
        if (strcmp(words[0], "off") == 0 || strcmp(words[0], "none") == 0) {
                if (words[1]) {
                        *detail = g_strdup_printf("%s: %s takes no options; expected %s "
                                                  "alone", LBD_QUOTE(value), words[0], words[0]);
                        return false;
                }
                options = words + 1;
        } else if (strcmp(words[0], "tcp") == 0) {
                h.type = LBD_HEALTH_CHECK_TCP;
                options = words + 1;
        } else if (strcmp(words[0], "http") == 0) {
                h.type = LBD_HEALTH_CHECK_HTTP;
                if (!words[1] || (words[1][0] != '/' && strchr(words[1], '='))) {
                        *detail = g_strdup_printf("%s: an http check needs a path; expected "
                                                  "http /PATH [OPTIONS], e.g. http /healthz",
                                                  LBD_QUOTE(value));
                        return false;
                }
                if (!http_path_is_valid(words[1])) {
                        *detail = g_strdup_printf(
                                "%s: %s is not a valid request path; expected a path "
                                "starting with '/', printable ASCII, at most %u bytes",
                                LBD_QUOTE(value), LBD_QUOTE(words[1]), HEALTH_CHECK_PATH_MAX);
                        return false;
                }
                path = g_strdup(words[1]);
                options = words + 2;
        } else {
                *detail = g_strdup_printf("%s: unknown check type %s; expected "
                                          EXPECTED_HEALTH_CHECK, LBD_QUOTE(value),
                                          LBD_QUOTE(words[0]));
                return false;
        }

        unsigned seen = 0;
        bool expect_seen = false;
        for (char **w = options; *w; w++) {
                int r = parse_uint_option(*w, health_check_options,
                                          G_N_ELEMENTS(health_check_options), &h, &seen, value,
                                          detail);
                if (r < 0)
                        return false;
                if (r > 0)
                        continue;

                if (g_str_has_prefix(*w, "expect=")) {
                        if (h.type != LBD_HEALTH_CHECK_HTTP) {
                                *detail = g_strdup_printf("%s: expect= applies to http "
                                                          "checks only", LBD_QUOTE(value));
                                return false;
                        }
                        if (expect_seen) {
                                *detail = g_strdup_printf("%s: expect= is given twice; "
                                                          "expected it once", LBD_QUOTE(value));
                                return false;
                        }
                        if (!parse_expect(*w + 7, &h.expect_min, &h.expect_max)) {
                                *detail = g_strdup_printf("%s: expect must be a status "
                                                          "100-599 or a range such as 200-399",
                                                          LBD_QUOTE(value));
                                return false;
                        }
                        expect_seen = true;
                        continue;
                }

                g_autofree char *name = g_strndup(*w, strcspn(*w, "="));
                g_autofree char *hint =
                        config_did_you_mean(name, health_check_words, G_N_ELEMENTS(health_check_words));
                if (h.type == LBD_HEALTH_CHECK_NONE)
                        *detail = g_strdup_printf("%s: unknown option %s", LBD_QUOTE(value),
                                                  LBD_QUOTE(*w));
                else
                        *detail = g_strdup_printf("%s: unknown option %s%s; expected %s",
                                                  LBD_QUOTE(value), LBD_QUOTE(*w), hint,
                                                  h.type == LBD_HEALTH_CHECK_HTTP ?
                                                          "interval=, rise=, fall=, timeout= or "
                                                          "expect=" :
                                                          "interval=, rise=, fall= or timeout=");
                return false;
        }

        h.path = g_steal_pointer(&path);
        *ret = h;
        return true;
}

/* ---- keys ----------------------------------------------------------------- */

#define D(field) offsetof(struct lbd_daemon_config, field)
static const struct key_def daemon_keys[] = {
        { "workers", KEY_WORKERS, D(workers), 1, LBD_WORKERS_MAX, NULL },
        { "worker-model", KEY_PLUGIN_NAME, D(worker_model), 0, 0, NULL },
        { "worker-connections", KEY_UINT, D(worker_connections), 1, LBD_WORKER_CONNECTIONS_MAX,
          NULL },
        { "threads", KEY_UINT, D(threads), 1, LBD_THREADS_MAX, NULL },
        { "timeout", KEY_UINT, D(timeout), 1, 86400, "seconds" },
        { "graceful-timeout", KEY_UINT, D(graceful_timeout), 0, 86400, "seconds" },
        { "keepalive", KEY_UINT, D(keepalive), 0, 3600, "seconds" },
        /* Both fit a 32-bit sum: the arbiter adds the jitter. */
        { "max-requests", KEY_UINT, D(max_requests), 0, 1000000000, NULL },
        { "max-requests-jitter", KEY_UINT, D(max_requests_jitter), 0, 1000000000, NULL },
        { "user", KEY_USER, D(user), 0, 0, NULL },
        { "group", KEY_GROUP, D(group), 0, 0, NULL },
        { "extra-groups", KEY_GROUPS, D(extra_groups), 0, 0, NULL },
        { "access-log", KEY_ACCESS_LOG, D(access_log), 0, 0, NULL },
        { "access-log-buffer", KEY_UINT, D(access_log_buffer), 0, LBD_ACCESS_LOG_BUFFER_MAX,
          "bytes" },
        { "access-log-flush", KEY_UINT, D(access_log_flush), 1, 60, "seconds" },
        { "access-log-format", KEY_LOG_FORMAT, D(access_log_format), 0, 0, NULL },
        { "error-log", KEY_ERROR_LOG, D(error_log), 0, 0, NULL },
        { "statsd-host", KEY_STATSD_HOST, D(statsd_host), 0, 0, NULL },
        { "statsd-prefix", KEY_METRIC_PREFIX, D(statsd_prefix), 0, 0, NULL },
        { "statsd-interval", KEY_UINT, D(statsd_interval), 1, 3600, "seconds" },
        { "dogstatsd-tags", KEY_TAGS, D(dogstatsd_tags), 0, 0, NULL },
        { "confine-workers", KEY_BOOL, D(confine_workers), 0, 0, NULL },
};
#undef D

#define S(field) offsetof(struct lbd_service_config, field)
static const struct key_def service_keys[] = {
        { "listen", KEY_LISTEN, S(listen), 0, 0, NULL },
        { "mode", KEY_MODE, S(mode), 0, 0, NULL },
        { "policy", KEY_PLUGIN_NAME, S(policy), 0, 0, NULL },
        { "proxy-connect-timeout", KEY_UINT, S(proxy_connect_timeout), 1,
          LBD_PROXY_CONNECT_TIMEOUT_MAX, "seconds" },
        { "proxy-read-timeout", KEY_UINT, S(proxy_read_timeout), 1, LBD_PROXY_READ_TIMEOUT_MAX,
          "seconds" },
        { "backends", KEY_BACKENDS, S(backends), 0, 0, NULL },
        { "health-check", KEY_HEALTH_CHECK, S(health_check), 0, 0, NULL },
        { "proxy-host", KEY_PROXY_HOST, S(proxy_host), 0, 0, NULL },
};
#undef S

G_STATIC_ASSERT(G_N_ELEMENTS(daemon_keys) <= CONFIG_KEYS_MAX);
G_STATIC_ASSERT(G_N_ELEMENTS(service_keys) <= CONFIG_KEYS_MAX);

const struct config_keys config_daemon_keys = { daemon_keys, G_N_ELEMENTS(daemon_keys) };

/* [admin]'s keys live in struct lbd_daemon_config too. */
static const struct key_def admin_keys[] = {
        { "listen", KEY_ADMIN_LISTEN, offsetof(struct lbd_daemon_config, admin_listen), 0, 0,
          NULL },
};
const struct config_keys config_admin_keys = { admin_keys, G_N_ELEMENTS(admin_keys) };
const struct config_keys config_service_keys = { service_keys, G_N_ELEMENTS(service_keys) };

const struct key_def *config_find_key(const struct key_def *keys, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

bool config_key_is_list(const struct key_def *def) {
        return def->type == KEY_LISTEN || def->type == KEY_BACKENDS || def->type == KEY_GROUPS;
}

static void replace_string(char **field, const char *value) {
        g_free(*field);
        *field = g_strdup(value);
}

/* Parses value (or items, for list keys) as def says and stores it in base
 * (a struct lbd_daemon_config or lbd_service_config). */
/* An address or off (empty too) into *target (NULL for off); unix
 * addresses only when allow_unix. expected: what the error says is wanted. */
static bool parse_address_or_off(const char *value, char **target, bool allow_unix,
                                 const char *expected, char **detail) {
        if (*value == '\0' || strcmp(value, "off") == 0) {
                g_clear_pointer(target, g_free);
                return true;
        }
        struct lbd_address a;
        _cleanup_free_ char *why = NULL;
        if (lbd_address_parse(value, &a, &why) < 0) {
                *detail = g_strdup_printf("%s: %s; expected %s", LBD_QUOTE(value),
                                          why ? why : "out of memory", expected);
                return false;
        }
        if (a.sa.ss_family == AF_UNIX && !allow_unix) {
                *detail = g_strdup_printf("%s is a unix socket; expected %s", LBD_QUOTE(value),
                                          expected);
                return false;
        }
        replace_string(target, a.text);
        return true;
}

bool config_apply_value(const struct key_def *def, const char *value, char **items, void *base,
                        char **detail) {
        void *field = (char *)base + def->offset;

        switch (def->type) {
        case KEY_UINT:
        case KEY_WORKERS: {
                g_autofree char *range = range_text(def->min, def->max, def->unit);
                g_autofree char *expected = def->type == KEY_WORKERS ?
                                                    g_strconcat("auto or ", range, NULL) :
                                                    g_strdup(range);
                if (def->type == KEY_WORKERS && strcmp(value, "auto") == 0) {
                        *(unsigned *)field = 0;
                        return true;
                }
                unsigned v;
                enum uint_status st = parse_uint(value, def->min, def->max, &v);
                if (st != UINT_OK) {
                        *detail = uint_value_error(st, value, expected);
                        return false;
                }
                *(unsigned *)field = v;
                return true;
        }

        case KEY_PLUGIN_NAME:
                if (!lbd_plugin_name_is_valid(value)) {
                        *detail = g_strdup_printf("%s is not a plugin name; expected a "
                                                  "lowercase letter, then up to 31 lowercase "
                                                  "letters, digits or '_' (e.g. %s)",
                                                  LBD_QUOTE(value),
                                                  strcmp(def->name, "worker-model") == 0 ?
                                                          "event" :
                                                          "round_robin");
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_USER:
                if (!user_name_is_valid(value)) {
                        *detail = name_error(value, "user", "");
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_GROUP:
                if (*value == '\0') {
                        g_clear_pointer((char **)field, g_free);
                        return true;
                }
                if (!user_name_is_valid(value)) {
                        *detail = name_error(value, "group", ", or nothing for the user's "
                                                             "own group");
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_GROUPS: {
                guint n = g_strv_length(items);
                if (n > LBD_EXTRA_GROUPS_MAX) {
                        *detail = g_strdup_printf("%u groups; expected at most %u", n,
                                                  LBD_EXTRA_GROUPS_MAX);
                        return false;
                }
                for (char **i = items; *i; i++)
                        if (!user_name_is_valid(*i)) {
                                *detail = name_error(*i, "group", "");
                                return false;
                        }
                char ***target = field;
                g_strfreev(*target);
                *target = g_strdupv(items);
                return true;
        }

        case KEY_PROXY_HOST:
                if (*value == '\0') {
                        g_clear_pointer((char **)field, g_free);
                        return true;
                }
                if (!proxy_host_is_valid(value)) {
                        *detail = g_strdup_printf("%s is not a Host header value; expected "
                                                  "NAME, an IPv4 address or [IPv6], with an "
                                                  "optional :PORT, at most %u bytes",
                                                  LBD_QUOTE(value), LBD_PROXY_HOST_MAX);
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_ACCESS_LOG:
        case KEY_ERROR_LOG: {
                bool access = def->type == KEY_ACCESS_LOG;
                if (strcmp(value, "journal") == 0 || (access && strcmp(value, "off") == 0) ||
                    file_path_is_valid(value) || file_name_is_valid(value)) {
                        replace_string(field, value);
                        return true;
                }
                *detail = g_strdup_printf("%s is not a log target; expected %s", LBD_QUOTE(value),
                                          access ? "journal, off, an absolute file path or "
                                                   "NAME.log (in the logs directory)"
                                                 : "journal, an absolute file path or "
                                                   "NAME.log (in the logs directory)");
                return false;
        }

        case KEY_STATSD_HOST:
                return parse_address_or_off(value, field, false,
                                            "the UDP HOST:PORT of a statsd server, or off",
                                            detail);

        case KEY_ADMIN_LISTEN:
                return parse_address_or_off(value, field, true, "HOST:PORT, unix:/PATH or off",
                                            detail);

        case KEY_METRIC_PREFIX:
                if (!metric_prefix_is_valid(value)) {
                        *detail = g_strdup_printf("%s is not a metric name prefix; expected "
                                                  "letters, digits, '_', '-' and dots between "
                                                  "them, at most %u bytes, or empty",
                                                  LBD_QUOTE(value), LBD_STATSD_PREFIX_MAX);
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_TAGS:
                if (*value == '\0') {
                        g_clear_pointer((char **)field, g_free);
                        return true;
                }
                if (!tags_are_valid(value)) {
                        *detail = g_strdup_printf("%s is not a list of tags; expected "
                                                  "NAME:VALUE or NAME separated by ',' (letters, "
                                                  "digits, '_', '-', '.', '/', ':'), at most %u "
                                                  "bytes", LBD_QUOTE(value), LBD_STATSD_TAGS_MAX);
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_LISTEN:
        case KEY_BACKENDS: {
                GArray *list = NULL;
                bool ok = def->type == KEY_LISTEN ? parse_address_list(items, &list, detail) :
                                                    parse_backend_list(items, &list, detail);
                if (!ok)
                        return false;
                GArray **target = field;
                g_clear_pointer(target, g_array_unref);
                *target = list;
                return true;
        }

        case KEY_MODE: {
                int m = lbd_service_mode_from_string(value);
                if (m < 0) {
                        *detail = g_strdup_printf("%s is not a mode; expected http or tcp",
                                                  LBD_QUOTE(value));
                        return false;
                }
                *(enum lbd_service_mode *)field = (enum lbd_service_mode)m;
                return true;
        }

        case KEY_BOOL: {
                static const char *const yes[] = { "yes", "true", "on", "1", NULL };
                static const char *const no[] = { "no", "false", "off", "0", NULL };
                if (g_strv_contains(yes, value)) {
                        *(bool *)field = true;
                } else if (g_strv_contains(no, value)) {
                        *(bool *)field = false;
                } else {
                        *detail = g_strdup_printf("%s is not yes or no", LBD_QUOTE(value));
                        return false;
                }
                return true;
        }

        case KEY_LOG_FORMAT:
                if (strcmp(value, "combined") == 0) {
                        *(enum lbd_access_log_format *)field = LBD_ACCESS_LOG_COMBINED;
                } else if (strcmp(value, "json") == 0) {
                        *(enum lbd_access_log_format *)field = LBD_ACCESS_LOG_JSON;
                } else {
                        *detail = g_strdup_printf("%s is not a log format; expected combined "
                                                  "or json", LBD_QUOTE(value));
                        return false;
                }
                return true;

        case KEY_HEALTH_CHECK: {
                struct lbd_health_check_config h;
                if (!parse_health_check(value, &h, detail))
                        return false;
                struct lbd_health_check_config *target = field;
                g_free(target->path);
                *target = h;
                return true;
        }
        }
        g_assert_not_reached();
}

