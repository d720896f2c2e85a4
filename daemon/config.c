/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration: each source (main file or embedded default,
 * then the drop-ins) is parsed as a GKeyFile and applied key by key to one
 * struct lbd_config, so every value is validated while we still know which
 * file it came from. Checks that need the merged result run at the end.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

G_DEFINE_QUARK(lbd-config-error-quark, lbd_config_error)

/* A configuration file is a few kilobytes; anything near this is a mistake
 * (a log file passed as --config), not a configuration. */
#define CONFIG_FILE_SIZE_MAX (16u * 1024u * 1024u)
#define HEALTH_CHECK_PATH_MAX 1024u

#define EXPECTED_ADDRESS "HOST:PORT, [IPV6]:PORT or unix:/ABSOLUTE/PATH"
#define EXPECTED_HEALTH_CHECK                                                                 \
        "off, tcp [interval=N rise=N fall=N timeout=N] or http /PATH [expect=200-399] "   \
        "[interval=N rise=N fall=N timeout=N]"

/* ---- small helpers -------------------------------------------------------- */

static void close_fdp(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

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
static const char *suggest(const char *word, const char *const *candidates, size_t n) {
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
static char *did_you_mean(const char *word, const char *const *candidates, size_t n) {
        const char *s = suggest(word, candidates, n);
        return s ? g_strdup_printf(" (did you mean %s?)", s) : g_strdup("");
}

/* GKeyFile knows comments only on lines of their own; the design's examples
 * put them after values ("workers=auto   # 2 * cores + 1"). A '#' at the
 * start of the value or after whitespace starts such a comment. */
static void strip_inline_comment(char *value) {
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
                return g_strdup_printf("'%s' is negative; expected %s", value, expected);
        case UINT_OUT_OF_RANGE:
                return g_strdup_printf("%s is out of range; expected %s", value, expected);
        case UINT_NOT_NUMBER:
        default:
                return g_strdup_printf("'%s' is not a decimal number; expected %s", value,
                                       expected);
        }
}

/* The detail of a bad NAME=VALUE option inside a list item; item is the
 * whole item, quoted so the reader finds it in a long list. */
static char *uint_option_error(enum uint_status st, const char *item, const char *name,
                               const char *value, unsigned min, unsigned max, const char *unit) {
        g_autofree char *range = range_text(min, max, unit);
        if (st == UINT_OUT_OF_RANGE)
                return g_strdup_printf("'%s': %s must be %s", item, name, range);
        return g_strdup_printf("'%s': %s must be a decimal number %s, not '%s'", item, name,
                               range, value);
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
        return g_strdup_printf("'%s' is not a valid %s name; expected a letter or '_', then up "
                               "to 31 letters, digits, '_', '.' or '-'%s",
                               value, what, or_else);
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

const char *lbd_service_mode_to_string(enum lbd_service_mode mode) {
        switch (mode) {
        case LBD_SERVICE_MODE_HTTP:
                return "http";
        case LBD_SERVICE_MODE_TCP:
                return "tcp";
        }
        return "unknown";
}

int lbd_service_mode_from_string(const char *s) {
        if (s && strcmp(s, "http") == 0)
                return LBD_SERVICE_MODE_HTTP;
        if (s && strcmp(s, "tcp") == 0)
                return LBD_SERVICE_MODE_TCP;
        return -EINVAL;
}

const char *lbd_health_check_type_to_string(enum lbd_health_check_type type) {
        switch (type) {
        case LBD_HEALTH_CHECK_NONE:
                return "off";
        case LBD_HEALTH_CHECK_TCP:
                return "tcp";
        case LBD_HEALTH_CHECK_HTTP:
                return "http";
        }
        return "unknown";
}

/* ---- defaults and lifetime ------------------------------------------------ */

static void health_check_init(struct lbd_health_check_config *h) {
        *h = (struct lbd_health_check_config){
                .type = LBD_HEALTH_CHECK_NONE,
                .expect_min = 200,
                .expect_max = 399,
                .interval = 2,
                .rise = 2,
                .fall = 3,
                .timeout = 1,
        };
}

static void backend_init(struct lbd_backend_config *b) {
        *b = (struct lbd_backend_config){
                .weight = 1,
                .max_fails = 1,
                .fail_timeout = 10,
        };
}

static void service_free(struct lbd_service_config *s) {
        if (!s)
                return;
        g_free(s->name);
        g_free(s->policy);
        g_free(s->health_check.path);
        g_free(s->proxy_host);
        g_clear_pointer(&s->listen, g_array_unref);
        g_clear_pointer(&s->backends, g_array_unref);
        g_free(s);
}

static struct lbd_service_config *service_new(const char *name) {
        struct lbd_service_config *s = g_new0(struct lbd_service_config, 1);
        s->name = g_strdup(name);
        s->listen = g_array_new(false, true, sizeof(struct lbd_address));
        s->mode = LBD_SERVICE_MODE_HTTP;
        s->policy = g_strdup("round_robin");
        s->proxy_connect_timeout = 5;
        s->proxy_read_timeout = 90;
        s->backends = g_array_new(false, true, sizeof(struct lbd_backend_config));
        health_check_init(&s->health_check);
        return s;
}

static struct lbd_config *config_new(void) {
        struct lbd_config *c = g_new0(struct lbd_config, 1);
        c->daemon = (struct lbd_daemon_config){
                .workers = 0,
                .worker_model = g_strdup("event"),
                .worker_connections = 1000,
                .threads = 4,
                .timeout = 30,
                .graceful_timeout = 30,
                .keepalive = 5,
                .max_requests = 0,
                .max_requests_jitter = 0,
                .user = g_strdup("lbd"),
                .group = NULL,
                .extra_groups = g_new0(char *, 1),
                .access_log = g_strdup("journal"),
                .error_log = g_strdup("journal"),
                .statsd_host = NULL,
        };
        c->services = g_ptr_array_new_with_free_func((GDestroyNotify)service_free);
        c->sources = g_ptr_array_new_with_free_func(g_free);
        c->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return c;
}

void lbd_config_free(struct lbd_config *config) {
        if (!config)
                return;
        g_free(config->daemon.worker_model);
        g_free(config->daemon.user);
        g_free(config->daemon.group);
        g_strfreev(config->daemon.extra_groups);
        g_free(config->daemon.access_log);
        g_free(config->daemon.error_log);
        g_free(config->daemon.statsd_host);
        g_clear_pointer(&config->services, g_ptr_array_unref);
        g_clear_pointer(&config->sources, g_ptr_array_unref);
        g_clear_pointer(&config->origins, g_hash_table_unref);
        lbd_config_free(config->base);
        g_free(config);
}

static char *origin_key(const char *group, const char *key) {
        return g_strconcat(group, "\n", key, NULL);
}

const char *lbd_config_origin(const struct lbd_config *config, const char *group,
                              const char *key) {
        if (!config || !group || !key)
                return NULL;
        g_autofree char *k = origin_key(group, key);
        return g_hash_table_lookup(config->origins, k);
}

const struct lbd_service_config *lbd_config_find_service(const struct lbd_config *config,
                                                         const char *name) {
        if (!config || !name)
                return NULL;
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                if (strcmp(s->name, name) == 0)
                        return s;
        }
        return NULL;
}

unsigned lbd_config_worker_count(const struct lbd_config *config) {
        if (config->daemon.workers > 0)
                return config->daemon.workers;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (cpus < 1)
                cpus = 1;
        /* Gunicorn's rule; capped at what workers= itself accepts. */
        unsigned long n = 2ul * (unsigned long)cpus + 1;
        return (unsigned)MIN(n, (unsigned long)LBD_WORKERS_MAX);
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
                        *detail = g_strdup_printf("'%s': %s", *i, why ? why : "out of memory");
                        return false;
                }
                for (guint j = 0; j < list->len; j++)
                        if (lbd_address_equal(&g_array_index(list, struct lbd_address, j), &a)) {
                                *detail = g_strdup_printf(
                                        "'%s': %s is listed twice; expected each address once",
                                        *i, a.text);
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

/* NAME=N options of list items: the backend's weight=, the health check's
 * interval=. */
struct uint_option {
        const char *name;
        size_t offset;
        unsigned min, max;
        const char *unit;
};

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
                        *detail = g_strdup_printf("'%s': %s needs a value, e.g. %s=%u", item,
                                                  o->name, o->name, MAX(o->min, 1u));
                        return -1;
                }
                if (*seen & (1u << i)) {
                        *detail = g_strdup_printf("'%s': %s= is given twice; expected it once",
                                                  item, o->name);
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
static const char *const backend_words[] = {
        "weight", "max-fails", "fail-timeout", "max-conns", "slow-start", "backup", "down", "drain",
};

static bool parse_backend(const char *item, struct lbd_backend_config *ret, char **detail) {
        g_auto(GStrv) words = split_words(item);
        struct lbd_backend_config b;
        backend_init(&b);

        _cleanup_free_ char *why = NULL;
        if (lbd_address_parse(words[0], &b.address, &why) < 0) {
                *detail = g_strdup_printf("'%s': %s", item, why ? why : "out of memory");
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
                                *detail = g_strdup_printf("'%s': %s takes no value; expected "
                                                          "the bare word %s",
                                                          item, flag_name, flag_name);
                                return false;
                        }
                        if (*flag) {
                                *detail = g_strdup_printf("'%s': %s is given twice; expected "
                                                          "it once",
                                                          item, flag_name);
                                return false;
                        }
                        *flag = true;
                        continue;
                }

                g_autofree char *name = g_strndup(*w, strcspn(*w, "="));
                g_autofree char *hint =
                        did_you_mean(name, backend_words, G_N_ELEMENTS(backend_words));
                *detail = g_strdup_printf("'%s': unknown option '%s'%s; expected ADDRESS "
                                          "[weight=N] [max-fails=N] [fail-timeout=N] "
                                          "[max-conns=N] [slow-start=N] [backup] [down] "
                                          "[drain]",
                                          item, *w, hint);
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
                                *detail = g_strdup_printf("'%s': backend %s is listed twice; "
                                                          "expected each address once per "
                                                          "service",
                                                          *i, b.address.text);
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
        health_check_init(&h);
        /* Owned here until handed over in *ret. */
        g_autofree char *path = NULL;

        if (!words[0]) {
                *detail = g_strdup("the value is empty; expected " EXPECTED_HEALTH_CHECK);
                return false;
        }

        char **options;
        if (strcmp(words[0], "off") == 0 || strcmp(words[0], "none") == 0) {
                if (words[1]) {
                        *detail = g_strdup_printf("'%s': %s takes no options; expected %s "
                                                  "alone",
                                                  value, words[0], words[0]);
                        return false;
                }
                options = words + 1;
        } else if (strcmp(words[0], "tcp") == 0) {
                h.type = LBD_HEALTH_CHECK_TCP;
                options = words + 1;
        } else if (strcmp(words[0], "http") == 0) {
                h.type = LBD_HEALTH_CHECK_HTTP;
                if (!words[1] || (words[1][0] != '/' && strchr(words[1], '='))) {
                        *detail = g_strdup_printf("'%s': an http check needs a path; expected "
                                                  "http /PATH [OPTIONS], e.g. http /healthz",
                                                  value);
                        return false;
                }
                if (!http_path_is_valid(words[1])) {
                        *detail = g_strdup_printf(
                                "'%s': '%s' is not a valid request path; expected a path "
                                "starting with '/', printable ASCII, at most %u bytes",
                                value, words[1], HEALTH_CHECK_PATH_MAX);
                        return false;
                }
                path = g_strdup(words[1]);
                options = words + 2;
        } else {
                *detail = g_strdup_printf("'%s': unknown check type '%s'; expected "
                                          EXPECTED_HEALTH_CHECK,
                                          value, words[0]);
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
                                *detail = g_strdup_printf("'%s': expect= applies to http "
                                                          "checks only",
                                                          value);
                                return false;
                        }
                        if (expect_seen) {
                                *detail = g_strdup_printf("'%s': expect= is given twice; "
                                                          "expected it once",
                                                          value);
                                return false;
                        }
                        if (!parse_expect(*w + 7, &h.expect_min, &h.expect_max)) {
                                *detail = g_strdup_printf("'%s': expect must be a status "
                                                          "100-599 or a range such as 200-399",
                                                          value);
                                return false;
                        }
                        expect_seen = true;
                        continue;
                }

                g_autofree char *name = g_strndup(*w, strcspn(*w, "="));
                g_autofree char *hint =
                        did_you_mean(name, health_check_words, G_N_ELEMENTS(health_check_words));
                if (h.type == LBD_HEALTH_CHECK_NONE)
                        *detail = g_strdup_printf("'%s': unknown option '%s'", value, *w);
                else
                        *detail = g_strdup_printf("'%s': unknown option '%s'%s; expected %s",
                                                  value, *w, hint,
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

enum key_type {
        KEY_UINT,
        KEY_WORKERS,     /* auto (stored as 0) or a number */
        KEY_PLUGIN_NAME,
        KEY_USER,
        KEY_GROUP,       /* a group name, or empty: the user's primary group */
        KEY_GROUPS,      /* list of group names */
        KEY_PROXY_HOST,  /* host[:port], or empty: none */
        KEY_ACCESS_LOG,
        KEY_ERROR_LOG,
        KEY_STATSD_HOST,
        KEY_LISTEN,      /* list */
        KEY_MODE,
        KEY_BACKENDS,    /* list */
        KEY_HEALTH_CHECK,
};

struct key_def {
        const char *name;
        enum key_type type;
        size_t offset;   /* in struct lbd_daemon_config or lbd_service_config */
        unsigned min, max;
        const char *unit;
};

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
        { "error-log", KEY_ERROR_LOG, D(error_log), 0, 0, NULL },
        { "statsd-host", KEY_STATSD_HOST, D(statsd_host), 0, 0, NULL },
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

/* The most keys a group has, for arrays of their names. */
#define KEYS_MAX 32
G_STATIC_ASSERT(G_N_ELEMENTS(daemon_keys) <= KEYS_MAX);
G_STATIC_ASSERT(G_N_ELEMENTS(service_keys) <= KEYS_MAX);

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static bool key_is_list(const struct key_def *def) {
        return def->type == KEY_LISTEN || def->type == KEY_BACKENDS || def->type == KEY_GROUPS;
}

static void replace_string(char **field, const char *value) {
        g_free(*field);
        *field = g_strdup(value);
}

/* Parses value (or items, for list keys) as def says and stores it in base
 * (a struct lbd_daemon_config or lbd_service_config). */
static bool apply_value(const struct key_def *def, const char *value, char **items, void *base,
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
                        *detail = g_strdup_printf("'%s' is not a plugin name; expected a "
                                                  "lowercase letter, then up to 31 lowercase "
                                                  "letters, digits or '_' (e.g. %s)",
                                                  value,
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
                        *detail = g_strdup_printf("'%s' is not a Host header value; expected "
                                                  "NAME, an IPv4 address or [IPv6], with an "
                                                  "optional :PORT, at most %u bytes",
                                                  value, LBD_PROXY_HOST_MAX);
                        return false;
                }
                replace_string(field, value);
                return true;

        case KEY_ACCESS_LOG:
        case KEY_ERROR_LOG: {
                bool access = def->type == KEY_ACCESS_LOG;
                if (strcmp(value, "journal") == 0 || (access && strcmp(value, "off") == 0) ||
                    file_path_is_valid(value)) {
                        replace_string(field, value);
                        return true;
                }
                *detail = g_strdup_printf("'%s' is not a log target; expected %s",
                                          value,
                                          access ? "journal, off or an absolute file path" :
                                                   "journal or an absolute file path");
                return false;
        }

        case KEY_STATSD_HOST: {
                char **target = field;
                if (*value == '\0' || strcmp(value, "off") == 0) {
                        g_clear_pointer(target, g_free);
                        return true;
                }
                struct lbd_address a;
                _cleanup_free_ char *why = NULL;
                if (lbd_address_parse(value, &a, &why) < 0) {
                        *detail = g_strdup_printf("'%s': %s", value, why ? why : "out of memory");
                        return false;
                }
                if (a.sa.ss_family == AF_UNIX) {
                        *detail = g_strdup_printf("'%s' is a unix socket; expected the UDP "
                                                  "HOST:PORT of a statsd server, or off",
                                                  value);
                        return false;
                }
                replace_string(target, a.text);
                return true;
        }

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
                        *detail = g_strdup_printf("'%s' is not a mode; expected http or tcp",
                                                  value);
                        return false;
                }
                *(enum lbd_service_mode *)field = (enum lbd_service_mode)m;
                return true;
        }

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

/* ---- sources -------------------------------------------------------------- */

struct loader {
        struct lbd_config *config;
        GHashTable *group_origins; /* group -> the file that introduced it */
        /* Values go through here after their comment is cut, so that
         * GKeyFile's own unescaping and list splitting apply to what is
         * left. */
        GKeyFile *scratch;
        /* The source being applied is the state file: [service NAME]
         * removed=true is allowed (lbd_config_load_state()). */
        bool state_source;
};

static void loader_done(struct loader *l) {
        g_clear_pointer(&l->config, lbd_config_free);
        g_clear_pointer(&l->group_origins, g_hash_table_unref);
        g_clear_pointer(&l->scratch, g_key_file_unref);
}

static void loader_init(struct loader *l) {
        *l = (struct loader){
                .config = config_new(),
                .group_origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                .scratch = g_key_file_new(),
        };
}

static int key_error(GError **error, const char *file, const char *group, const char *key,
                     const char *detail) {
        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID, "%s: [%s] %s: %s", file,
                    group, key, detail);
        return -EINVAL;
}

static int group_error(GError **error, const char *file, const char *group, const char *detail) {
        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID, "%s: [%s]: %s", file, group,
                    detail);
        return -EINVAL;
}

static bool key_file_parses(const char *data, gsize len) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        return g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, NULL);
}

/* The 1-based line of data where GKeyFile's parse fails. GLib does not say;
 * but a parse error stays an error when lines are added after it, so a
 * binary search over prefixes of whole lines finds the first failing one.
 * Only on the error path. 0 when the text parses after all. */
static unsigned find_parse_error_line(const char *data, gsize len) {
        g_autoptr(GArray) ends = g_array_new(false, false, sizeof(gsize));
        for (gsize i = 0; i < len; i++)
                if (data[i] == '\n' || i + 1 == len) {
                        gsize end = i + 1;
                        g_array_append_val(ends, end);
                }
#define PREFIX_LEN(n_lines) g_array_index(ends, gsize, (n_lines) - 1)

        if (ends->len == 0 || key_file_parses(data, PREFIX_LEN(ends->len)))
                return 0;
        guint lo = 1, hi = ends->len; /* the first failing prefix has lo..hi lines */
        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;
                if (key_file_parses(data, PREFIX_LEN(mid)))
                        lo = mid + 1;
                else
                        hi = mid;
        }
#undef PREFIX_LEN
        return lo;
}

static unsigned line_of_offset(const char *data, gsize offset) {
        unsigned line = 1;
        for (gsize i = 0; i < offset; i++)
                if (data[i] == '\n')
                        line++;
        return line;
}

static int apply_key(struct loader *l, const char *file, const char *group, const char *key,
                     const char *raw, void *base, const struct key_def *def, GError **error) {
        g_autofree char *value = g_strdup(raw);
        strip_inline_comment(value);

        g_key_file_set_value(l->scratch, "v", "v", value);
        g_autofree char *text = NULL;
        g_auto(GStrv) items = NULL;
        /* GKeyFile may return a value and set an error (for an unknown
         * escape it returns the raw text): only the error counts. */
        g_autoptr(GError) unescape_error = NULL;
        if (key_is_list(def)) {
                g_auto(GStrv) raw_items = g_key_file_get_string_list(l->scratch, "v", "v", NULL,
                                                                       &unescape_error);
                if (raw_items && !unescape_error) {
                        g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
                        for (char **i = raw_items; *i; i++) {
                                g_strstrip(*i);
                                if (**i)
                                        g_ptr_array_add(a, g_strdup(*i));
                        }
                        g_ptr_array_add(a, NULL);
                        items = (char **)g_ptr_array_free(g_steal_pointer(&a), false);
                }
        } else {
                text = g_key_file_get_string(l->scratch, "v", "v", &unescape_error);
                if (text)
                        g_strstrip(text);
        }
        if (unescape_error || (!text && !items)) {
                g_autofree char *detail = g_strdup_printf(
                        "'%s' contains an invalid escape sequence; expected only \\s \\n \\t "
                        "\\r \\\\%s",
                        value, key_is_list(def) ? " \\;" : "");
                return key_error(error, file, group, key, detail);
        }

        g_autofree char *detail = NULL;
        if (!apply_value(def, text ? text : value, items, base, &detail))
                return key_error(error, file, group, key, detail);

        g_hash_table_replace(l->config->origins, origin_key(group, key), g_strdup(file));
        return 0;
}

/* Forgets every origin of group ("service web\n..."). */
static void forget_origins(GHashTable *origins, const char *group) {
        g_autofree char *prefix = g_strconcat(group, "\n", NULL);
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, origins);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (g_str_has_prefix(key, prefix))
                        g_hash_table_iter_remove(&it);
}

/* [service NAME] removed=true: a service removed at run time (state file
 * only). It must stand alone in its group; removing a service that the
 * configuration no longer has is not an error (the files changed since). */
static int apply_removed(struct loader *l, GKeyFile *kf, const char *file, const char *group,
                         const char *name, GError **error) {
        if (!l->state_source)
                return key_error(error, file, group, "removed",
                                 "only the state file lbd writes may remove a service; "
                                 "expected the group deleted from the configuration instead");

        gsize n = 0;
        g_auto(GStrv) keys = g_key_file_get_keys(kf, group, &n, NULL);
        if (n != 1)
                return key_error(error, file, group, "removed",
                                 "a removed service has no other keys; expected removed=true "
                                 "alone in its group");

        g_autofree char *value = g_key_file_get_value(kf, group, "removed", NULL);
        strip_inline_comment(value);
        if (strcmp(value, "true") != 0) {
                g_autofree char *detail =
                        g_strdup_printf("'%s' is not valid here; expected removed=true", value);
                return key_error(error, file, group, "removed", detail);
        }

        const struct lbd_service_config *s = lbd_config_find_service(l->config, name);
        if (s)
                g_ptr_array_remove(l->config->services, (gpointer)s);
        forget_origins(l->config->origins, group);
        g_hash_table_remove(l->group_origins, group);
        return 0;
}

static int apply_group(struct loader *l, GKeyFile *kf, const char *file, const char *group,
                       GError **error) {
        const struct key_def *keys, *other_keys;
        size_t n_keys, n_other_keys;
        const char *other_group;
        void *base;

        if (strcmp(group, "daemon") == 0) {
                keys = daemon_keys, n_keys = G_N_ELEMENTS(daemon_keys);
                other_keys = service_keys, n_other_keys = G_N_ELEMENTS(service_keys);
                other_group = "[service NAME]";
                base = &l->config->daemon;
        } else if (g_str_has_prefix(group, "service ") || strcmp(group, "service") == 0) {
                const char *name = group + strlen("service");
                if (*name == ' ')
                        name++;
                if (*name == '\0')
                        return group_error(error, file, group,
                                           "a service group needs a name; expected "
                                           "[service NAME]");
                if (!lbd_service_name_is_valid(name)) {
                        g_autofree char *detail = g_strdup_printf(
                                "'%s' is not a valid service name; expected 1-64 letters, "
                                "digits, '_' or '-'",
                                name);
                        return group_error(error, file, group, detail);
                }

                if (g_key_file_has_key(kf, group, "removed", NULL))
                        return apply_removed(l, kf, file, group, name, error);

                struct lbd_service_config *s =
                        (struct lbd_service_config *)lbd_config_find_service(l->config, name);
                if (!s) {
                        s = service_new(name);
                        g_ptr_array_add(l->config->services, s);
                        g_hash_table_replace(l->group_origins, g_strdup(group), g_strdup(file));
                }
                keys = service_keys, n_keys = G_N_ELEMENTS(service_keys);
                other_keys = daemon_keys, n_other_keys = G_N_ELEMENTS(daemon_keys);
                other_group = "[daemon]";
                base = s;
        } else {
                /* "Service web", "servce web" → [service web]; "deamon" → [daemon]. */
                g_autofree char *first = g_strndup(group, strcspn(group, " "));
                const char *rest = group + strlen(first);
                g_autofree char *lower = g_ascii_strdown(first, -1);
                static const char *const kinds[] = { "daemon", "service" };
                const char *kind = suggest(lower, kinds, G_N_ELEMENTS(kinds));
                g_autofree char *hint = kind ? g_strdup_printf(" (did you mean [%s%s]?)", kind,
                                                               strcmp(kind, "daemon") == 0 ? "" :
                                                                                             rest) :
                                               g_strdup("");
                g_autofree char *detail = g_strdup_printf(
                        "unknown group%s; expected [daemon] or [service NAME]", hint);
                return group_error(error, file, group, detail);
        }

        gsize n = 0;
        g_auto(GStrv) names = g_key_file_get_keys(kf, group, &n, NULL);
        for (gsize i = 0; i < n; i++) {
                const char *key = names[i];
                const struct key_def *def = find_key(keys, n_keys, key);
                if (!def) {
                        g_autofree char *detail = NULL;
                        if (find_key(other_keys, n_other_keys, key))
                                detail = g_strdup_printf("unknown key in [%s]; expected it in a "
                                                         "%s group",
                                                         base == &l->config->daemon ? "daemon" :
                                                                                      "service",
                                                         other_group);
                        else {
                                const char *candidates[KEYS_MAX];
                                for (size_t k = 0; k < n_keys; k++)
                                        candidates[k] = keys[k].name;
                                g_autofree char *hint = did_you_mean(key, candidates, n_keys);
                                g_autoptr(GString) all = g_string_new(NULL);
                                for (size_t k = 0; k < n_keys; k++)
                                        g_string_append_printf(all, "%s%s", k ? ", " : "",
                                                               keys[k].name);
                                detail = g_strdup_printf("unknown key%s; expected one of %s",
                                                         hint, all->str);
                        }
                        return key_error(error, file, group, key, detail);
                }

                g_autofree char *raw = g_key_file_get_value(kf, group, key, NULL);
                int r = apply_key(l, file, group, key, raw ? raw : "", base, def, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* GKeyFile takes "key[locale]=" as a translation of key= and hides it from
 * g_key_file_get_keys(), so a typo such as "user[0]=" would vanish
 * silently. Find such lines ourselves (data has parsed, so every line is a
 * comment, a group or a key). */
static int check_localized_keys(const char *data, const char *file, GError **error) {
        g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
        g_autofree char *group = NULL;

        for (char **line = lines; *line; line++) {
                const char *p = *line;
                while (g_ascii_isspace(*p))
                        p++;
                if (*p == '\0' || *p == '#')
                        continue;
                if (*p == '[') {
                        const char *close = strrchr(p, ']');
                        g_free(group);
                        group = g_strndup(p + 1, close ? (size_t)(close - p - 1) : strlen(p + 1));
                        continue;
                }
                size_t key_len = strcspn(p, "=");
                g_autofree char *key = g_strstrip(g_strndup(p, key_len));
                const char *bracket = strchr(key, '[');
                if (!bracket)
                        continue;
                g_autofree char *base = g_strndup(key, (size_t)(bracket - key));
                g_autofree char *detail = g_strdup_printf(
                        "localized keys (KEY[LOCALE]=) are not supported; expected %s=", base);
                return key_error(error, file, group ? group : "", key, detail);
        }
        return 0;
}

/* Parses one source and applies it over what the loader has so far. */
static int apply_source(struct loader *l, const char *data, gsize len, const char *file,
                        GError **error) {
        g_ptr_array_add(l->config->sources, g_strdup(file));

        /* GKeyFile would stop at a NUL or take invalid UTF-8 into values;
         * name the line instead. */
        const char *nul = memchr(data, '\0', len);
        if (nul) {
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID,
                            "%s: line %u: contains a NUL byte; expected a text file", file,
                            line_of_offset(data, (gsize)(nul - data)));
                return -EINVAL;
        }
        const char *end;
        if (!g_utf8_validate(data, (gssize)len, &end)) {
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID,
                            "%s: line %u: invalid UTF-8; expected a UTF-8 text file", file,
                            line_of_offset(data, (gsize)(end - data)));
                return -EINVAL;
        }

        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) parse_error = NULL;
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &parse_error)) {
                unsigned line = find_parse_error_line(data, len);
                if (line > 0)
                        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID,
                                    "%s: line %u: %s", file, line, parse_error->message);
                else
                        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_INVALID, "%s: %s",
                                    file, parse_error->message);
                return -EINVAL;
        }

        g_autofree char *text = g_strndup(data, len);
        if (check_localized_keys(text, file, error) < 0)
                return -EINVAL;

        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
        for (char **g = groups; *g; g++) {
                int r = apply_group(l, kf, file, *g, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The file that introduced group; for a configuration copied into the
 * loader (lbd_config_load_state()), the last file that set one of its keys. */
static const char *group_origin(const struct loader *l, const char *group) {
        const char *file = g_hash_table_lookup(l->group_origins, group);
        if (file)
                return file;
        g_autofree char *prefix = g_strconcat(group, "\n", NULL);
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, l->config->origins);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (g_str_has_prefix(key, prefix))
                        return value;
        return l->config->sources->len > 0 ?
                       l->config->sources->pdata[l->config->sources->len - 1] :
                       "<unknown>";
}

/* Checks that need every source merged. */
static int finish(struct loader *l, GError **error) {
        GPtrArray *services = l->config->services;

        for (guint i = 0; i < services->len; i++) {
                const struct lbd_service_config *s = services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                if (s->listen->len == 0)
                        return key_error(error, group_origin(l, group), group, "listen",
                                         "missing; expected at least one address to listen on, "
                                         "e.g. listen=0.0.0.0:80");

                for (guint j = 0; j < i; j++) {
                        const struct lbd_service_config *t = services->pdata[j];
                        for (guint a = 0; a < s->listen->len; a++)
                                for (guint b = 0; b < t->listen->len; b++) {
                                        const struct lbd_address *x =
                                                &g_array_index(s->listen, struct lbd_address, a);
                                        if (!lbd_address_equal(x,
                                                               &g_array_index(t->listen,
                                                                              struct lbd_address,
                                                                              b)))
                                                continue;
                                        g_autofree char *detail = g_strdup_printf(
                                                "%s is also a listen address of [service %s]; "
                                                "expected each address in one service only",
                                                x->text, t->name);
                                        return key_error(error,
                                                         lbd_config_origin(l->config, group,
                                                                           "listen"),
                                                         group, "listen", detail);
                                }
                }
        }
        return 0;
}

/* Reads path into *ret. Returns 1, 0 when it does not exist (missing_ok) or
 * is a directory (skip_directories), or -errno with *error set. */
static int read_file(const char *path, bool missing_ok, bool skip_directories, char **ret,
                     gsize *ret_len, GError **error) {
        /* O_NONBLOCK: a FIFO must not hang the daemon; it is refused below. */
        _cleanup_(close_fdp) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                if (e == ENOENT && missing_ok)
                        return 0;
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO, "%s: cannot read: %s",
                            path, g_strerror(e));
                return -e;
        }

        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = errno;
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO, "%s: cannot read: %s",
                            path, g_strerror(e));
                return -e;
        }
        if (S_ISDIR(st.st_mode)) {
                if (skip_directories)
                        return 0;
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                            "%s: cannot read: is a directory; expected a configuration file",
                            path);
                return -EISDIR;
        }
        /* Regular files, and character devices for --config /dev/null. */
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                            "%s: cannot read: not a regular file; expected a configuration file",
                            path);
                return -EBADF;
        }

        g_autoptr(GByteArray) buf = g_byte_array_new();
        for (;;) {
                guint8 chunk[16384];
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                                    "%s: cannot read: %s", path, g_strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                if (buf->len + (gsize)n > CONFIG_FILE_SIZE_MAX) {
                        g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                                    "%s: cannot read: larger than %u MiB; expected a "
                                    "configuration file",
                                    path, CONFIG_FILE_SIZE_MAX / 1024 / 1024);
                        return -EFBIG;
                }
                g_byte_array_append(buf, chunk, (guint)n);
        }

        *ret_len = buf->len;
        guint8 nul = 0;
        g_byte_array_append(buf, &nul, 1);
        *ret = (char *)g_byte_array_free(g_steal_pointer(&buf), false);
        return 1;
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The drop-ins of dir, sorted by strcmp(): *.conf, not hidden. A missing
 * directory has none. */
static int list_dropins(const char *dir, GPtrArray **ret, GError **error) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d) {
                int e = errno;
                if (e == ENOENT) {
                        *ret = g_steal_pointer(&names);
                        return 0;
                }
                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                            "%s: cannot read the drop-in directory: %s", dir, g_strerror(e));
                return -e;
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0) {
                                int e = errno;
                                g_set_error(error, LBD_CONFIG_ERROR, LBD_CONFIG_ERROR_IO,
                                            "%s: cannot read the drop-in directory: %s", dir,
                                            g_strerror(e));
                                return -e;
                        }
                        break;
                }
                /* Hidden files are editors' and package managers' leftovers. */
                if (de->d_name[0] == '.' || !g_str_has_suffix(de->d_name, ".conf"))
                        continue;
                g_ptr_array_add(names, g_strdup(de->d_name));
        }
        g_ptr_array_sort(names, compare_names);
        *ret = g_steal_pointer(&names);
        return 0;
}

struct lbd_config *lbd_config_load(const char *main_path, bool main_path_required,
                                   const char *dropin_dir, GError **error) {
        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);

        if (!main_path)
                main_path = LBD_CONFIG_DEFAULT_PATH;

        g_autofree char *data = NULL;
        gsize len = 0;
        int r = read_file(main_path, !main_path_required, false, &data, &len, error);
        if (r < 0)
                return NULL;
        if (r == 0)
                r = apply_source(&l, lbd_config_builtin_default, strlen(lbd_config_builtin_default),
                                 LBD_CONFIG_BUILTIN_NAME, error);
        else
                r = apply_source(&l, data, len, main_path, error);
        if (r < 0)
                return NULL;

        if (dropin_dir) {
                g_autoptr(GPtrArray) names = NULL;
                if (list_dropins(dropin_dir, &names, error) < 0)
                        return NULL;
                for (guint i = 0; i < names->len; i++) {
                        g_autofree char *path = g_build_filename(dropin_dir, names->pdata[i], NULL);
                        g_autofree char *dropin = NULL;
                        gsize dropin_len = 0;
                        /* Directories named *.conf are skipped; a
                         * dangling symlink is an error, as it is a
                         * drop-in the administrator meant to be read. */
                        r = read_file(path, false, true, &dropin, &dropin_len, error);
                        if (r < 0)
                                return NULL;
                        if (r == 0)
                                continue;
                        if (apply_source(&l, dropin, dropin_len, path, error) < 0)
                                return NULL;
                }
        }

        if (finish(&l, error) < 0)
                return NULL;
        return g_steal_pointer(&l.config);
}

struct lbd_config *lbd_config_load_from_data(const char *data, const char *source_name,
                                             GError **error) {
        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);

        if (apply_source(&l, data, strlen(data), source_name, error) < 0)
                return NULL;
        if (finish(&l, error) < 0)
                return NULL;
        return g_steal_pointer(&l.config);
}

int lbd_config_load_state(const struct lbd_config *base, const char *path,
                          struct lbd_config **ret, GError **error) {
        g_autofree char *data = NULL;
        gsize len = 0;
        int r = read_file(path, true, false, &data, &len, error);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = NULL;
                return 0;
        }

        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);
        lbd_config_free(l.config);
        l.config = lbd_config_copy(base);
        l.state_source = true;
        r = apply_source(&l, data, len, path, error);
        if (r < 0)
                return r;
        r = finish(&l, error);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&l.config);
        return 1;
}

/* ---- copying -------------------------------------------------------------- */

static struct lbd_service_config *service_copy(const struct lbd_service_config *s) {
        struct lbd_service_config *c = g_new0(struct lbd_service_config, 1);
        *c = *s;
        c->name = g_strdup(s->name);
        c->policy = g_strdup(s->policy);
        c->listen = g_array_copy(s->listen);
        c->backends = g_array_copy(s->backends);
        c->health_check.path = g_strdup(s->health_check.path);
        c->proxy_host = g_strdup(s->proxy_host);
        return c;
}

struct lbd_config *lbd_config_copy(const struct lbd_config *config) {
        struct lbd_config *c = config_new();
        struct lbd_daemon_config *d = &c->daemon;

        /* config_new()'s strings are replaced below. */
        g_free(d->worker_model);
        g_free(d->user);
        g_strfreev(d->extra_groups);
        g_free(d->access_log);
        g_free(d->error_log);
        *d = config->daemon;
        d->worker_model = g_strdup(config->daemon.worker_model);
        d->user = g_strdup(config->daemon.user);
        d->group = g_strdup(config->daemon.group);
        d->extra_groups = g_strdupv(config->daemon.extra_groups);
        d->access_log = g_strdup(config->daemon.access_log);
        d->error_log = g_strdup(config->daemon.error_log);
        d->statsd_host = g_strdup(config->daemon.statsd_host);

        for (guint i = 0; i < config->services->len; i++)
                g_ptr_array_add(c->services, service_copy(config->services->pdata[i]));
        for (guint i = 0; i < config->sources->len; i++)
                g_ptr_array_add(c->sources, g_strdup(config->sources->pdata[i]));
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, config->origins);
        while (g_hash_table_iter_next(&it, &key, &value))
                g_hash_table_insert(c->origins, g_strdup(key), g_strdup(value));
        if (config->base)
                c->base = lbd_config_copy(config->base);
        return c;
}

/* ---- writing -------------------------------------------------------------- */

/* GKeyFile's escaping of what the loader unescapes: '\' always, ';' in
 * list items. Values hold no control characters (the parsers refuse
 * them). */
static void append_escaped(GString *out, const char *s, bool list_item) {
        for (const char *p = s; *p; p++) {
                if (*p == '\\' || (list_item && *p == ';'))
                        g_string_append_c(out, '\\');
                g_string_append_c(out, *p);
        }
}

/* " name=N" for each of options whose value differs from the default. */
static void append_uint_options(GString *out, const struct uint_option *options, size_t n,
                                const void *value, const void *def) {
        for (size_t i = 0; i < n; i++) {
                unsigned v = *(const unsigned *)((const char *)value + options[i].offset);
                unsigned d = *(const unsigned *)((const char *)def + options[i].offset);
                if (v != d)
                        g_string_append_printf(out, " %s=%u", options[i].name, v);
        }
}

static void format_backend(GString *out, const struct lbd_backend_config *b) {
        struct lbd_backend_config def;
        backend_init(&def);
        g_string_append(out, b->address.text);
        append_uint_options(out, backend_options, G_N_ELEMENTS(backend_options), b, &def);
        if (b->backup)
                g_string_append(out, " backup");
        if (b->down)
                g_string_append(out, " down");
        if (b->drain)
                g_string_append(out, " drain");
}

static void format_health_check(GString *out, const struct lbd_health_check_config *h) {
        struct lbd_health_check_config def;
        health_check_init(&def);
        g_string_append(out, lbd_health_check_type_to_string(h->type));
        if (h->type == LBD_HEALTH_CHECK_NONE)
                return;
        if (h->type == LBD_HEALTH_CHECK_HTTP) {
                g_string_append_printf(out, " %s", h->path ? h->path : "/");
                if (h->expect_min != def.expect_min || h->expect_max != def.expect_max) {
                        g_string_append_printf(out, " expect=%u", h->expect_min);
                        if (h->expect_max != h->expect_min)
                                g_string_append_printf(out, "-%u", h->expect_max);
                }
        }
        append_uint_options(out, health_check_options, G_N_ELEMENTS(health_check_options), h,
                            &def);
}

/* The value of def's key in base as the loader reads it back: canonical,
 * so that two values are equal exactly when their texts are. */
static char *format_value(const struct key_def *def, const void *base) {
        const void *field = (const char *)base + def->offset;
        GString *out = g_string_new(NULL);

        switch (def->type) {
        case KEY_UINT:
                g_string_append_printf(out, "%u", *(const unsigned *)field);
                break;
        case KEY_WORKERS:
                if (*(const unsigned *)field == 0)
                        g_string_append(out, "auto");
                else
                        g_string_append_printf(out, "%u", *(const unsigned *)field);
                break;
        case KEY_PLUGIN_NAME:
        case KEY_USER:
        case KEY_ACCESS_LOG:
        case KEY_ERROR_LOG:
                append_escaped(out, *(char *const *)field, false);
                break;
        case KEY_GROUP:
        case KEY_PROXY_HOST: {
                const char *v = *(char *const *)field;
                append_escaped(out, v ? v : "", false);
                break;
        }
        case KEY_GROUPS: {
                char *const *list = *(char **const *)field;
                for (guint i = 0; list && list[i]; i++) {
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, list[i], true);
                }
                break;
        }
        case KEY_STATSD_HOST: {
                const char *v = *(char *const *)field;
                append_escaped(out, v ? v : "off", false);
                break;
        }
        case KEY_LISTEN: {
                const GArray *list = *(GArray *const *)field;
                for (guint i = 0; i < list->len; i++) {
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, g_array_index(list, struct lbd_address, i).text,
                                       true);
                }
                break;
        }
        case KEY_MODE:
                g_string_append(out,
                                lbd_service_mode_to_string(*(const enum lbd_service_mode *)field));
                break;
        case KEY_BACKENDS: {
                const GArray *list = *(GArray *const *)field;
                for (guint i = 0; i < list->len; i++) {
                        g_autoptr(GString) item = g_string_new(NULL);
                        format_backend(item, &g_array_index(list, struct lbd_backend_config, i));
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, item->str, true);
                }
                break;
        }
        case KEY_HEALTH_CHECK: {
                g_autoptr(GString) text = g_string_new(NULL);
                format_health_check(text, field);
                append_escaped(out, text->str, false);
                break;
        }
        }
        return g_string_free(out, false);
}

/* Sets each key of keys whose value in config differs from base (every key
 * when base is NULL). */
static void write_group(GKeyFile *kf, const char *group, const struct key_def *keys, size_t n,
                        const void *config, const void *base) {
        for (size_t i = 0; i < n; i++) {
                g_autofree char *value = format_value(&keys[i], config);
                if (base) {
                        g_autofree char *base_value = format_value(&keys[i], base);
                        if (strcmp(value, base_value) == 0)
                                continue;
                }
                g_key_file_set_value(kf, group, keys[i].name, value);
        }
}

GKeyFile *lbd_config_to_keyfile(const struct lbd_config *config, const struct lbd_config *base) {
        GKeyFile *kf = g_key_file_new();

        write_group(kf, "daemon", daemon_keys, G_N_ELEMENTS(daemon_keys), &config->daemon,
                    base ? &base->daemon : NULL);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                /* A service base lacks is written whole. */
                write_group(kf, group, service_keys, G_N_ELEMENTS(service_keys), s,
                            base ? lbd_config_find_service(base, s->name) : NULL);
        }
        if (base)
                for (guint i = 0; i < base->services->len; i++) {
                        const struct lbd_service_config *s = base->services->pdata[i];
                        if (lbd_config_find_service(config, s->name))
                                continue;
                        g_autofree char *group = g_strconcat("service ", s->name, NULL);
                        g_key_file_set_value(kf, group, "removed", "true");
                }
        return kf;
}
