/* SPDX-License-Identifier: MIT */
/* The configuration loader: every key's valid and invalid forms, the
 * messages (file, group, key, what was expected), the embedded default, and
 * merging of the main file with drop-ins from a real temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-files.h"

/* lbd_config_load() as the file cases want it: the configuration or NULL,
 * and what it returned in load_result (-EINVAL: wrong; another errno: a
 * file could not be read). */
static int load_result;
static struct lbd_config *load(const char *main_path, bool required, const char *dropins,
                               char **error) {
        struct lbd_config *c = NULL;
        load_result = lbd_config_load(main_path, required, dropins, &c, error);
        assert_true(load_result == 0 ? c != NULL : c == NULL);
        return c;
}

#define SRC "test.conf"

/* ---- helpers -------------------------------------------------------------- */

/* Parses text that must be valid; a failure shows GLib's message. */
static struct lbd_config *parse_ok(const char *text) {
        g_autofree char *error = NULL;
        struct lbd_config *c = lbd_config_load_from_data(text, SRC, &error);
        if (!c)
                print_error("unexpected error: %s\nfor:\n%s\n", error, text);
        assert_non_null(c);
        assert_null(error);
        return c;
}

/* Parses text that must be invalid, and checks that the message contains
 * each of the NULL-terminated strings. Returns nothing: the message is
 * printed when a part is missing. */
static void check_error(const char *text, ...) G_GNUC_NULL_TERMINATED;
static void check_error(const char *text, ...) {
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = lbd_config_load_from_data(text, SRC, &error);
        if (c)
                print_error("expected an error for:\n%s\n", text);
        assert_null(c);
        assert_non_null(error);

        va_list ap;
        va_start(ap, text);
        for (const char *part; (part = va_arg(ap, const char *));) {
                if (!strstr(error, part))
                        print_error("message '%s'\nlacks '%s'\nfor:\n%s\n", error, part,
                                    text);
                assert_non_null(strstr(error, part));
        }
        va_end(ap);
}

/* A [daemon] text with one key set. */
static char *daemon_with(const char *key, const char *value) {
        return g_strdup_printf("[daemon]\n%s=%s\n", key, value);
}

/* A [service web] text with listen= and one more key set. */
static char *service_with(const char *key, const char *value) {
        return g_strdup_printf("[service web]\nlisten=127.0.0.1:8080\n%s=%s\n", key, value);
}

static const struct lbd_service_config *service_at(const struct lbd_config *c, guint i) {
        assert_true(i < c->services->len);
        return c->services->pdata[i];
}

static const struct lbd_address *listen_at(const struct lbd_service_config *s, guint i) {
        assert_true(i < s->listen->len);
        return &g_array_index(s->listen, struct lbd_address, i);
}

static const struct lbd_backend_config *backend_at(const struct lbd_service_config *s, guint i) {
        assert_true(i < s->backends->len);
        return &g_array_index(s->backends, struct lbd_backend_config, i);
}

/* Parses one backend item of a service and returns a copy of it. */
static struct lbd_backend_config one_backend(const char *item) {
        g_autofree char *text = service_with("backends", item);
        g_autoptr(lbd_config) c = parse_ok(text);
        const struct lbd_service_config *s = service_at(c, 0);
        assert_int_equal(s->backends->len, 1);
        return *backend_at(s, 0);
}

/* ---- temporary directories ------------------------------------------------ */

struct dirs {
        char *root;     /* g_dir_make_tmp() */
        char *main;     /* root/lbd.conf (not created) */
        char *dropins;  /* root/conf.d (created) */
};

static int setup_dirs(void **state) {
        struct dirs *d = g_new0(struct dirs, 1);
        g_autoptr(GError) error = NULL;
        d->root = g_dir_make_tmp("lbd-test-config-XXXXXX", &error);
        if (!d->root) {
                print_error("g_dir_make_tmp: %s\n", error->message);
                g_free(d);
                return -1;
        }
        d->main = g_build_filename(d->root, "lbd.conf", NULL);
        d->dropins = g_build_filename(d->root, "conf.d", NULL);
        if (mkdir(d->dropins, 0755) < 0)
                return -1;
        *state = d;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static int teardown_dirs(void **state) {
        struct dirs *d = *state;
        int r = 0;
        if (!d)
                return 0;
        /* Depth first, not following symlinks: only what the test made
         * under its own directory goes. */
        if (nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                r = -1;
        g_free(d->root);
        g_free(d->main);
        g_free(d->dropins);
        g_free(d);
        return r;
}

static void write_file(const char *dir, const char *name, const char *text) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autoptr(GError) error = NULL;
        if (!g_file_set_contents(path, text, -1, &error))
                print_error("%s\n", error->message);
        assert_null(error);
}

/* ---- the embedded default ------------------------------------------------- */

static void test_builtin_default(void **state) {
        g_autoptr(lbd_config) c = parse_ok(lbd_config_builtin_default);

        /* [daemon]: the documented defaults, every one. */
        assert_int_equal(c->daemon.workers, 0);
        assert_string_equal(c->daemon.worker_model, "event");
        assert_int_equal(c->daemon.worker_connections, 1000);
        assert_int_equal(c->daemon.threads, 4);
        assert_int_equal(c->daemon.timeout, 30);
        assert_int_equal(c->daemon.graceful_timeout, 30);
        assert_int_equal(c->daemon.keepalive, 5);
        assert_int_equal(c->daemon.max_requests, 0);
        assert_int_equal(c->daemon.max_requests_jitter, 0);
        assert_string_equal(c->daemon.user, "lbd");
        assert_string_equal(c->daemon.access_log, "access.log"); /* in --logs-dir */
        assert_int_equal(c->daemon.access_log_buffer, 65536);
        assert_int_equal(c->daemon.access_log_flush, 1);
        assert_int_equal(c->daemon.access_log_format, LBD_ACCESS_LOG_COMBINED);
        assert_string_equal(c->daemon.error_log, "journal");
        assert_null(c->daemon.statsd_host);
        assert_string_equal(c->daemon.statsd_prefix, "lbd");
        assert_int_equal(c->daemon.statsd_interval, 1);
        assert_null(c->daemon.dogstatsd_tags);

        /* Exactly one service: http "default" on 127.0.0.1:8080, round_robin
         * over 127.0.0.1:8001-8003. */
        assert_int_equal(c->services->len, 1);
        const struct lbd_service_config *s = service_at(c, 0);
        assert_string_equal(s->name, "default");
        assert_int_equal(s->listen->len, 1);
        assert_string_equal(listen_at(s, 0)->text, "127.0.0.1:8080");
        assert_int_equal(s->mode, LBD_SERVICE_MODE_HTTP);
        assert_string_equal(s->policy, "round_robin");
        assert_int_equal(s->proxy_connect_timeout, 5);
        assert_int_equal(s->proxy_read_timeout, 90);
        assert_int_equal(s->health_check.type, LBD_HEALTH_CHECK_NONE);
        assert_int_equal(s->backends->len, 3);
        static const char *const addresses[] = { "127.0.0.1:8001", "127.0.0.1:8002",
                                                 "127.0.0.1:8003" };
        for (guint i = 0; i < 3; i++) {
                const struct lbd_backend_config *b = backend_at(s, i);
                assert_string_equal(b->address.text, addresses[i]);
                assert_int_equal(b->weight, 1);
                assert_int_equal(b->max_fails, 1);
                assert_int_equal(b->fail_timeout, 10);
                assert_int_equal(b->max_conns, 0);
                assert_int_equal(b->slow_start, 0);
                assert_false(b->backup);
                assert_false(b->down);
        }

        assert_int_equal(c->sources->len, 1);
        assert_string_equal(c->sources->pdata[0], SRC);
        assert_string_equal(lbd_config_origin(c, "daemon", "workers"), SRC);
        assert_string_equal(lbd_config_origin(c, "service default", "backends"), SRC);
}

/* The struct defaults (keys not set at all) are the documented ones too,
 * and equal to what the embedded default spells out. */
static void test_defaults_without_keys(void **state) {
        g_autoptr(lbd_config) empty = parse_ok("");
        g_autoptr(lbd_config) builtin = parse_ok(lbd_config_builtin_default);

        assert_int_equal(empty->services->len, 0);
        assert_int_equal(empty->daemon.workers, builtin->daemon.workers);
        assert_string_equal(empty->daemon.worker_model, builtin->daemon.worker_model);
        assert_int_equal(empty->daemon.worker_connections, builtin->daemon.worker_connections);
        assert_int_equal(empty->daemon.threads, builtin->daemon.threads);
        assert_int_equal(empty->daemon.timeout, builtin->daemon.timeout);
        assert_int_equal(empty->daemon.graceful_timeout, builtin->daemon.graceful_timeout);
        assert_int_equal(empty->daemon.keepalive, builtin->daemon.keepalive);
        assert_int_equal(empty->daemon.max_requests, builtin->daemon.max_requests);
        assert_int_equal(empty->daemon.max_requests_jitter, builtin->daemon.max_requests_jitter);
        assert_string_equal(empty->daemon.user, builtin->daemon.user);
        assert_string_equal(empty->daemon.access_log, builtin->daemon.access_log);
        assert_string_equal(empty->daemon.error_log, builtin->daemon.error_log);
        assert_null(empty->daemon.statsd_host);
        assert_null(lbd_config_origin(empty, "daemon", "workers"));

        g_autoptr(lbd_config) c = parse_ok("[service s]\nlisten=127.0.0.1:1\nbackends=127.0.0.1:2\n");
        const struct lbd_service_config *s = service_at(c, 0);
        const struct lbd_service_config *d = service_at(builtin, 0);
        assert_int_equal(s->mode, d->mode);
        assert_string_equal(s->policy, d->policy);
        assert_int_equal(s->proxy_connect_timeout, d->proxy_connect_timeout);
        assert_int_equal(s->proxy_read_timeout, d->proxy_read_timeout);
        assert_int_equal(s->health_check.type, LBD_HEALTH_CHECK_NONE);
        assert_int_equal(s->health_check.interval, 2);
        assert_int_equal(s->health_check.rise, 2);
        assert_int_equal(s->health_check.fall, 3);
        assert_int_equal(s->health_check.timeout, 1);
        assert_int_equal(s->health_check.expect_min, 200);
        assert_int_equal(s->health_check.expect_max, 399);
        assert_null(lbd_config_origin(c, "service s", "policy"));
        assert_string_equal(lbd_config_origin(c, "service s", "listen"), SRC);
}

/* The example of DESIGN.md, inline comments and all. */
static void test_design_example(void **state) {
        static const char text[] =
                "[daemon]\n"
                "workers=auto              # 2 * cores + 1\n"
                "worker-model=event        # sync | thread | event\n"
                "worker-connections=1000\n"
                "threads=4\n"
                "timeout=30\n"
                "graceful-timeout=30\n"
                "keepalive=5\n"
                "max-requests=0\n"
                "user=lbd\n"
                "access-log=/var/log/lbd/access.log\n"
                "statsd-host=127.0.0.1:8125\n"
                "\n"
                "[service web]\n"
                "listen=0.0.0.0:80;[::]:80\n"
                "mode=http                 # http | tcp\n"
                "policy=least_conn\n"
                "proxy-read-timeout=90\n"
                "backends=unix:/var/www/myapp/myapp.sock;10.0.0.11:8000 weight=2 max-fails=3 "
                "fail-timeout=10;10.0.0.12:8000 backup\n"
                "health-check=http /healthz expect=200-399 interval=2 rise=2 fall=3\n";
        g_autoptr(lbd_config) c = parse_ok(text);

        assert_int_equal(c->daemon.workers, 0);
        assert_string_equal(c->daemon.worker_model, "event");
        assert_string_equal(c->daemon.access_log, "/var/log/lbd/access.log");
        assert_string_equal(c->daemon.statsd_host, "127.0.0.1:8125");

        const struct lbd_service_config *s = lbd_config_find_service(c, "web");
        assert_non_null(s);
        assert_int_equal(s->listen->len, 2);
        assert_string_equal(listen_at(s, 0)->text, "0.0.0.0:80");
        assert_string_equal(listen_at(s, 1)->text, "[::]:80");
        assert_int_equal(s->mode, LBD_SERVICE_MODE_HTTP);
        assert_string_equal(s->policy, "least_conn");
        assert_int_equal(s->proxy_read_timeout, 90);

        assert_int_equal(s->backends->len, 3);
        assert_string_equal(backend_at(s, 0)->address.text, "unix:/var/www/myapp/myapp.sock");
        assert_int_equal(backend_at(s, 0)->weight, 1);
        assert_string_equal(backend_at(s, 1)->address.text, "10.0.0.11:8000");
        assert_int_equal(backend_at(s, 1)->weight, 2);
        assert_int_equal(backend_at(s, 1)->max_fails, 3);
        assert_int_equal(backend_at(s, 1)->fail_timeout, 10);
        assert_false(backend_at(s, 1)->backup);
        assert_string_equal(backend_at(s, 2)->address.text, "10.0.0.12:8000");
        assert_true(backend_at(s, 2)->backup);

        assert_int_equal(s->health_check.type, LBD_HEALTH_CHECK_HTTP);
        assert_string_equal(s->health_check.path, "/healthz");
        assert_int_equal(s->health_check.expect_min, 200);
        assert_int_equal(s->health_check.expect_max, 399);
        assert_int_equal(s->health_check.interval, 2);
        assert_int_equal(s->health_check.rise, 2);
        assert_int_equal(s->health_check.fall, 3);
}

static void test_inline_comments_and_whitespace(void **state) {
        g_autoptr(lbd_config) c = parse_ok(
                "[daemon]\n"
                "threads =   7   # seven\n"
                "user=\tnobody\t#tab before the hash\n"
                "statsd-host=#nothing but a comment\n"
                "access-log=/var/log/a#b.log\n"          /* no whitespace: part of the value */
                "[service web]\n"
                "listen = 127.0.0.1:1 ; 127.0.0.1:2 ;  # two, a trailing ';' and a comment\n"
                "backends=127.0.0.1:3 weight=4   # a ';' in a comment; 127.0.0.1:9\n");
        assert_int_equal(c->daemon.threads, 7);
        assert_string_equal(c->daemon.user, "nobody");
        assert_null(c->daemon.statsd_host);
        assert_string_equal(c->daemon.access_log, "/var/log/a#b.log");
        const struct lbd_service_config *s = service_at(c, 0);
        assert_int_equal(s->listen->len, 2);
        assert_string_equal(listen_at(s, 1)->text, "127.0.0.1:2");
        assert_int_equal(s->backends->len, 1);
        assert_int_equal(backend_at(s, 0)->weight, 4);

        /* A comment is not a value. */
        check_error("[daemon]\nthreads=   # nothing\n", SRC ": [daemon] threads: ",
                    "the value is empty; expected 1-1024", NULL);
}

static void test_escapes(void **state) {
        g_autoptr(lbd_config) c = parse_ok("[daemon]\naccess-log=/var/log/a\\sb.log\n");
        assert_string_equal(c->daemon.access_log, "/var/log/a b.log");

        check_error("[daemon]\naccess-log=/var/log/a\\q\n", SRC ": [daemon] access-log: ",
                    "invalid escape sequence", NULL);
        check_error("[service web]\nlisten=127.0.0.1:1\\q\n", SRC ": [service web] listen: ",
                    "invalid escape sequence", NULL);
}

/* ---- [daemon] ------------------------------------------------------------- */

static void test_workers(void **state) {
        static const struct {
                const char *value;
                unsigned expected;
        } good[] = { { "auto", 0 }, { "1", 1 }, { "1024", 1024 }, { " 9 ", 9 }, { "007", 7 } };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *text = daemon_with("workers", good[i].value);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_int_equal(c->daemon.workers, good[i].expected);
        }

        static const struct {
                const char *value, *message;
        } bad[] = {
                { "banana", "'banana' is not a decimal number; expected auto or 1-1024" },
                { "0", "'0' is out of range; expected auto or 1-1024" },
                { "1025", "'1025' is out of range" },
                { "-7", "'-7' is negative" },
                { "+5", "not a decimal number" },
                { "12abc", "'12abc' is not a decimal number" },
                { "0x10", "not a decimal number" },
                { "1 2", "not a decimal number" },
                { "99999999999999999999", "'99999999999999999999' is out of range" },
                { "4294967297", "out of range" }, /* 2^32 + 1: must not wrap to 1 */
                { "AUTO", "not a decimal number" },
                { "", "the value is empty; expected auto or 1-1024" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = daemon_with("workers", bad[i].value);
                check_error(text, SRC ": [daemon] workers: ", bad[i].message, NULL);
        }
}

static void test_worker_count(void **state) {
        g_autoptr(lbd_config) fixed = parse_ok("[daemon]\nworkers=3\n");
        assert_int_equal(lbd_config_worker_count(fixed), 3);

        g_autoptr(lbd_config) auto_ = parse_ok("[daemon]\nworkers=auto\n");
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned expected = (unsigned)MIN(2 * (cpus > 0 ? cpus : 1) + 1, (long)LBD_WORKERS_MAX);
        assert_int_equal(lbd_config_worker_count(auto_), expected);
        assert_true(lbd_config_worker_count(auto_) >= 3);
}

/* Every plain number key: its bounds are accepted, one past them refused
 * with a message naming the key and the range. */
static void test_number_keys(void **state) {
        static const struct {
                const char *group; /* "daemon" or "service web" */
                const char *key;
                size_t offset;
                unsigned min, max;
        } keys[] = {
                { "daemon", "worker-connections",
                  offsetof(struct lbd_daemon_config, worker_connections), 1, 1000000 },
                { "daemon", "threads", offsetof(struct lbd_daemon_config, threads), 1, 1024 },
                { "daemon", "timeout", offsetof(struct lbd_daemon_config, timeout), 1, 86400 },
                { "daemon", "graceful-timeout",
                  offsetof(struct lbd_daemon_config, graceful_timeout), 0, 86400 },
                { "daemon", "keepalive", offsetof(struct lbd_daemon_config, keepalive), 0, 3600 },
                { "daemon", "max-requests", offsetof(struct lbd_daemon_config, max_requests), 0,
                  1000000000 },
                { "daemon", "max-requests-jitter",
                  offsetof(struct lbd_daemon_config, max_requests_jitter), 0, 1000000000 },
                { "service web", "proxy-connect-timeout",
                  offsetof(struct lbd_service_config, proxy_connect_timeout), 1, 3600 },
                { "service web", "proxy-read-timeout",
                  offsetof(struct lbd_service_config, proxy_read_timeout), 1, 86400 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                bool daemon = strcmp(keys[i].group, "daemon") == 0;
                unsigned good[] = { keys[i].min, keys[i].max };
                for (size_t j = 0; j < 2; j++) {
                        g_autofree char *value = g_strdup_printf("%u", good[j]);
                        g_autofree char *text = daemon ? daemon_with(keys[i].key, value) :
                                                         service_with(keys[i].key, value);
                        g_autoptr(lbd_config) c = parse_ok(text);
                        const void *base = daemon ? (const void *)&c->daemon :
                                                    (const void *)service_at(c, 0);
                        assert_int_equal(*(const unsigned *)((const char *)base + keys[i].offset),
                                         good[j]);
                        assert_string_equal(lbd_config_origin(c, keys[i].group, keys[i].key), SRC);
                }

                g_autofree char *where = g_strdup_printf(SRC ": [%s] %s: ", keys[i].group,
                                                         keys[i].key);
                g_autofree char *range = g_strdup_printf("expected %u-%u", keys[i].min,
                                                         keys[i].max);
                g_autofree char *above = g_strdup_printf("%u", keys[i].max + 1);
                const char *bad[] = { above, "x", "-1", "1.5", "" };
                for (size_t j = 0; j < G_N_ELEMENTS(bad); j++) {
                        g_autofree char *text = daemon ? daemon_with(keys[i].key, bad[j]) :
                                                         service_with(keys[i].key, bad[j]);
                        check_error(text, where, range, NULL);
                }
                if (keys[i].min > 0) {
                        g_autofree char *below = g_strdup_printf("%u", keys[i].min - 1);
                        g_autofree char *text = daemon ? daemon_with(keys[i].key, below) :
                                                         service_with(keys[i].key, below);
                        check_error(text, where, "is out of range", range, NULL);
                }
        }
}

static void test_plugin_names(void **state) {
        static const char *const good[] = { "event", "sync", "round_robin", "ip_hash", "a",
                                            "a1_b2",
                                            "abcdefghijklmnopqrstuvwxyzabcdef" /* 32 */ };
        static const char *const bad[] = { "Event", "fork-bomb", "1abc", "_x", "a b", "a.b",
                                           "abcdefghijklmnopqrstuvwxyzabcdefg" /* 33 */, "" };

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                assert_true(lbd_plugin_name_is_valid(good[i]));
                g_autofree char *d = daemon_with("worker-model", good[i]);
                g_autoptr(lbd_config) c = parse_ok(d);
                assert_string_equal(c->daemon.worker_model, good[i]);
                g_autofree char *s = service_with("policy", good[i]);
                g_autoptr(lbd_config) cs = parse_ok(s);
                assert_string_equal(service_at(cs, 0)->policy, good[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                assert_false(lbd_plugin_name_is_valid(bad[i]));
                g_autofree char *d = daemon_with("worker-model", bad[i]);
                check_error(d, SRC ": [daemon] worker-model: ", "is not a plugin name",
                            "expected a lowercase letter", NULL);
                g_autofree char *s = service_with("policy", bad[i]);
                check_error(s, SRC ": [service web] policy: ", "is not a plugin name", NULL);
        }
        assert_false(lbd_plugin_name_is_valid(NULL));
}

static void test_user(void **state) {
        static const char *const good[] = { "lbd", "www-data", "_lbd", "svc.web", "A1",
                                            "abcdefghijklmnopqrstuvwxyzabcdef" };
        static const char *const bad[] = { "1lbd", "-lbd", "lbd user", "lbd:x", "lbd/x", "",
                                           "abcdefghijklmnopqrstuvwxyzabcdefg" };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *text = daemon_with("user", good[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_string_equal(c->daemon.user, good[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = daemon_with("user", bad[i]);
                check_error(text, SRC ": [daemon] user: ", "is not a valid user name", NULL);
        }
}

/* group=, extra-groups=: names as user= takes them; empty is the user's
 * own group and no extra groups. Whether they exist is the arbiter's
 * (and lbd -t's) question, not the parser's. */
static void test_groups(void **state) {
        g_autoptr(lbd_config) none = parse_ok("[daemon]\ngroup=\nextra-groups=\n");
        assert_null(none->daemon.group);
        assert_int_equal(g_strv_length(none->daemon.extra_groups), 0);

        g_autoptr(lbd_config) c = parse_ok("[daemon]\ngroup=lbd\n"
                                           "extra-groups=www-data ; ssl-cert;;\n");
        assert_string_equal(c->daemon.group, "lbd");
        assert_int_equal(g_strv_length(c->daemon.extra_groups), 2);
        assert_string_equal(c->daemon.extra_groups[0], "www-data");
        assert_string_equal(c->daemon.extra_groups[1], "ssl-cert");

        check_error("[daemon]\ngroup=1www\n", SRC ": [daemon] group: ",
                    "'1www' is not a valid group name", NULL);
        check_error("[daemon]\nextra-groups=www-data;a b\n", SRC ": [daemon] extra-groups: ",
                    "'a b' is not a valid group name", NULL);
        g_autoptr(GString) many = g_string_new("[daemon]\nextra-groups=");
        for (unsigned i = 0; i <= LBD_EXTRA_GROUPS_MAX; i++)
                g_string_append_printf(many, "g%u;", i);
        g_string_append_c(many, '\n');
        check_error(many->str, SRC ": [daemon] extra-groups: ", "33 groups; expected at most 32",
                    NULL);
}

/* proxy-host=: a Host value lbd writes itself, so only host[:port]. */
static void test_proxy_host(void **state) {
        static const char *const good[] = { "app.example", "app.example:8080", "10.0.0.1",
                                            "[::1]:80", "[2001:db8::7]", "localhost" };
        static const char *const bad[] = { "app example", "app/x", "app:", "app:123456",
                                           ":80", "[::1", "[]", "app:8x", "a\\sb" };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *text = service_with("proxy-host", good[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_string_equal(service_at(c, 0)->proxy_host, good[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = service_with("proxy-host", bad[i]);
                check_error(text, SRC ": [service web] proxy-host: ", "is not a Host header value",
                            NULL);
        }
        g_autofree char *longest = g_strnfill(LBD_PROXY_HOST_MAX, 'a');
        g_autofree char *too_long = g_strnfill(LBD_PROXY_HOST_MAX + 1, 'a');
        g_autofree char *ok = service_with("proxy-host", longest);
        g_autoptr(lbd_config) c = parse_ok(ok);
        g_autofree char *bad_text = service_with("proxy-host", too_long);
        check_error(bad_text, SRC ": [service web] proxy-host: ", "at most 100 bytes", NULL);
        g_autofree char *unset = service_with("proxy-host", "");
        g_autoptr(lbd_config) u = parse_ok(unset);
        assert_null(service_at(u, 0)->proxy_host);
}

static void test_logs(void **state) {
        static const char *const access_good[] = { "journal", "off", "/var/log/lbd/access.log",
                                                    "access.log", "web-access.log" };
        for (size_t i = 0; i < G_N_ELEMENTS(access_good); i++) {
                g_autofree char *text = daemon_with("access-log", access_good[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_string_equal(c->daemon.access_log, access_good[i]);
        }
        static const char *const error_good[] = { "journal", "/var/log/lbd/error.log",
                                                   "error.log" };
        for (size_t i = 0; i < G_N_ELEMENTS(error_good); i++) {
                g_autofree char *text = daemon_with("error-log", error_good[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_string_equal(c->daemon.error_log, error_good[i]);
        }

        static const char *const bad[] = { "var/log/a.log", "/", "/var/log/", "syslog",
                                           "Journal", "", ".log", ".hidden.log", "a.log/",
                                           "tab\there.log" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *a = daemon_with("access-log", bad[i]);
                check_error(a, SRC ": [daemon] access-log: ", "is not a log target",
                            "expected journal, off, an absolute file path or NAME.log "
                            "(in the logs directory)", NULL);
                g_autofree char *e = daemon_with("error-log", bad[i]);
                check_error(e, SRC ": [daemon] error-log: ", "is not a log target",
                            "expected journal, an absolute file path or NAME.log "
                            "(in the logs directory)", NULL);
        }
        /* The error log cannot be turned off. */
        check_error("[daemon]\nerror-log=off\n", SRC ": [daemon] error-log: 'off'", NULL);

        /* The block's bounds. */
        g_autofree char *buffer0 = daemon_with("access-log-buffer", "0");
        g_autoptr(lbd_config) c0 = parse_ok(buffer0);
        assert_int_equal(c0->daemon.access_log_buffer, 0);
        g_autofree char *big = daemon_with("access-log-buffer", "1048577");
        check_error(big, SRC ": [daemon] access-log-buffer: ", NULL);
        g_autofree char *flush0 = daemon_with("access-log-flush", "0");
        check_error(flush0, SRC ": [daemon] access-log-flush: ", NULL);
}

static void test_statsd_host(void **state) {
        static const struct {
                const char *value, *text;
        } good[] = {
                { "127.0.0.1:8125", "127.0.0.1:8125" },
                { "[::1]:8125", "[::1]:8125" },
                { "localhost:8125", "127.0.0.1:8125" },
                { "off", NULL },
                { "", NULL },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *text = daemon_with("statsd-host", good[i].value);
                g_autoptr(lbd_config) c = parse_ok(text);
                if (good[i].text)
                        assert_string_equal(c->daemon.statsd_host, good[i].text);
                else
                        assert_null(c->daemon.statsd_host);
        }

        check_error("[daemon]\nstatsd-host=unix:/run/statsd.sock\n", SRC ": [daemon] statsd-host: ",
                    "is a unix socket", NULL);
        check_error("[daemon]\nstatsd-host=statsd.example:8125\n",
                    SRC ": [daemon] statsd-host: ", "names are not resolved", NULL);
        check_error("[daemon]\nstatsd-host=127.0.0.1\n", SRC ": [daemon] statsd-host: ",
                    "has no port", NULL);
        check_error("[daemon]\nstatsd-host=127.0.0.1:70000\n", SRC ": [daemon] statsd-host: ",
                    "port '70000' is out of range 1-65535", NULL);

        /* A drop-in can turn it off again. */
        g_autoptr(lbd_config) c = parse_ok("[daemon]\nstatsd-host=127.0.0.1:1\n"
                                           "[daemon]\nstatsd-host=off\n");
        assert_null(c->daemon.statsd_host);
}

static void test_admin_listen(void **state) {
        {
                g_autoptr(lbd_config) c = parse_ok("[daemon]\nworkers=1\n");
                assert_null(c->daemon.admin_listen); /* off by default */
        }
        static const struct {
                const char *value, *text;
        } good[] = {
                { "127.0.0.1:9101", "127.0.0.1:9101" },
                { "[::1]:9101", "[::1]:9101" },
                { "unix:/run/lbd/admin.sock", "unix:/run/lbd/admin.sock" },
                { "off", NULL },
                { "", NULL },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *text = g_strdup_printf("[admin]\nlisten=%s\n", good[i].value);
                g_autoptr(lbd_config) c = parse_ok(text);
                if (good[i].text)
                        assert_string_equal(c->daemon.admin_listen, good[i].text);
                else
                        assert_null(c->daemon.admin_listen);
                /* Written back under [admin], read again the same. */
                g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(c, NULL);
                g_autofree char *value = g_key_file_get_value(kf, "admin", "listen", NULL);
                assert_string_equal(value, good[i].text ? good[i].text : "off");
        }
        check_error("[admin]\nlisten=127.0.0.1\n", SRC ": [admin] listen: ", "has no port",
                    "expected HOST:PORT, unix:/PATH or off", NULL);
        check_error("[admin]\nworkers=2\n", SRC ": [admin] workers: ",
                    "unknown key in [admin]; expected it in a [daemon] group", NULL);
        check_error("[admin]\nlisten-address=127.0.0.1:1\n", SRC ": [admin] listen-address: ",
                    "unknown key", NULL);
        check_error("[Admin]\n", "(did you mean [admin]?)", NULL);
}

static void test_statsd_prefix_and_tags(void **state) {
        static const char *const good_prefixes[] = { "lbd", "", "web.front-1", "a_b.c" };
        for (size_t i = 0; i < G_N_ELEMENTS(good_prefixes); i++) {
                g_autofree char *text = daemon_with("statsd-prefix", good_prefixes[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_string_equal(c->daemon.statsd_prefix, good_prefixes[i]);
        }
        static const char *const bad_prefixes[] = { ".lbd", "lbd.", "a..b", "a b", "a:b" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_prefixes); i++) {
                g_autofree char *text = daemon_with("statsd-prefix", bad_prefixes[i]);
                check_error(text, SRC ": [daemon] statsd-prefix: ", "not a metric name prefix",
                            NULL);
        }
        g_autofree char *long_prefix = g_strnfill(LBD_STATSD_PREFIX_MAX + 1, 'a');
        g_autofree char *long_text = daemon_with("statsd-prefix", long_prefix);
        check_error(long_text, SRC ": [daemon] statsd-prefix: ", "at most 64 bytes", NULL);

        g_autoptr(lbd_config) tagged = parse_ok("[daemon]\ndogstatsd-tags=env:prod,region:eu-1,canary\n");
        assert_string_equal(tagged->daemon.dogstatsd_tags, "env:prod,region:eu-1,canary");
        g_autoptr(lbd_config) untagged = parse_ok("[daemon]\ndogstatsd-tags=\n");
        assert_null(untagged->daemon.dogstatsd_tags);
        static const char *const bad_tags[] = { ",env:prod", "env:prod,", "a,,b", "env prod",
                                                "env|prod", "env#x" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_tags); i++) {
                g_autofree char *text = daemon_with("dogstatsd-tags", bad_tags[i]);
                check_error(text, SRC ": [daemon] dogstatsd-tags: ", "not a list of tags", NULL);
        }
        g_autofree char *i0 = daemon_with("statsd-interval", "0");
        check_error(i0, SRC ": [daemon] statsd-interval: ", NULL);
}

/* ---- groups and keys ------------------------------------------------------ */

static void test_unknown_keys(void **state) {
        check_error("[daemon]\nwokers=3\n", SRC ": [daemon] wokers: ", "unknown key",
                    "(did you mean workers?)", "expected one of workers, worker-model", NULL);
        check_error("[daemon]\nWorkers=3\n", "(did you mean workers?)", NULL);
        check_error("[daemon]\ngraceful_timeout=3\n", "(did you mean graceful-timeout?)", NULL);
        check_error("[service web]\nlisten=127.0.0.1:1\nbackend=127.0.0.1:2\n",
                    SRC ": [service web] backend: ", "(did you mean backends?)",
                    "expected one of listen, mode, policy", NULL);
        /* Nothing close: no guess. */
        {
                g_autofree char *error = NULL;
                g_autoptr(lbd_config) c =
                        lbd_config_load_from_data("[daemon]\nfrobnicate=1\n", SRC, &error);
                assert_null(c);
                assert_non_null(strstr(error, SRC ": [daemon] frobnicate: unknown key"));
                assert_null(strstr(error, "did you mean"));
        }
        /* A key of the other group says where it belongs. */
        check_error("[daemon]\nlisten=127.0.0.1:80\n", SRC ": [daemon] listen: ",
                    "expected it in a [service NAME] group", NULL);
        check_error("[service web]\nlisten=127.0.0.1:80\nworkers=3\n",
                    SRC ": [service web] workers: ", "expected it in a [daemon] group", NULL);
        /* GKeyFile's localized keys are not ours. */
        check_error("[daemon]\nuser[de]=lbd\n", SRC ": [daemon] user[de]: ",
                    "localized keys (KEY[LOCALE]=) are not supported; expected user=", NULL);
}

static void test_unknown_groups(void **state) {
        check_error("[deamon]\n", SRC ": [deamon]: unknown group", "(did you mean [daemon]?)",
                    "expected [daemon], [admin] or [service NAME]", NULL);
        check_error("[Service web]\nlisten=127.0.0.1:1\n", "(did you mean [service web]?)", NULL);
        check_error("[services web]\n", "(did you mean [service web]?)", NULL);
        {
                g_autofree char *error = NULL;
                g_autoptr(lbd_config) c = lbd_config_load_from_data("[upstream]\n", SRC, &error);
                assert_null(c);
                assert_non_null(strstr(error, SRC ": [upstream]: unknown group"));
                assert_null(strstr(error, "did you mean"));
        }
        check_error("[service]\nlisten=127.0.0.1:1\n", SRC ": [service]: ",
                    "a service group needs a name", NULL);
        check_error("[service ]\n", SRC ": [service ]: ", "needs a name", NULL);
        check_error("[service we/b]\n", SRC ": [service we/b]: ",
                    "'we/b' is not a valid service name", "expected 1-64", NULL);
        check_error("[service  web]\n", "' web' is not a valid service name", NULL);
}

static void test_service_names(void **state) {
        char name65[66];
        memset(name65, 'a', 65);
        name65[65] = '\0';
        assert_false(lbd_service_name_is_valid(name65));
        g_autofree char *text65 = g_strdup_printf("[service %s]\nlisten=127.0.0.1:1\n", name65);
        check_error(text65, "is not a valid service name", NULL);

        name65[64] = '\0';
        assert_true(lbd_service_name_is_valid(name65));
        g_autofree char *text64 = g_strdup_printf("[service %s]\nlisten=127.0.0.1:1\n", name65);
        g_autoptr(lbd_config) c = parse_ok(text64);
        assert_string_equal(service_at(c, 0)->name, name65);

        static const char *const good[] = { "web", "Web_2", "a-b", "0", "_" };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
                assert_true(lbd_service_name_is_valid(good[i]));
        static const char *const bad[] = { "", "a b", "a.b", "a/b", "é", NULL };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_false(lbd_service_name_is_valid(bad[i]));
}

/* ---- [service NAME] ------------------------------------------------------- */

static void test_listen(void **state) {
        g_autoptr(lbd_config) c = parse_ok(
                "[service web]\nlisten=0.0.0.0:80;[::]:80;unix:/run/lbd/web.sock;localhost:81\n");
        const struct lbd_service_config *s = service_at(c, 0);
        assert_int_equal(s->listen->len, 4);
        assert_string_equal(listen_at(s, 0)->text, "0.0.0.0:80");
        assert_string_equal(listen_at(s, 1)->text, "[::]:80");
        assert_string_equal(listen_at(s, 2)->text, "unix:/run/lbd/web.sock");
        assert_string_equal(listen_at(s, 3)->text, "127.0.0.1:81");

        check_error("[service web]\nlisten=\n", SRC ": [service web] listen: ",
                    "no address given", NULL);
        check_error("[service web]\nlisten= ; ;\n", SRC ": [service web] listen: ",
                    "no address given", NULL);
        check_error("[service web]\nlisten=not an address\n", SRC ": [service web] listen: ",
                    "'not an address': address contains whitespace", NULL);
        check_error("[service web]\nlisten=foo.example:80\n", SRC ": [service web] listen: ",
                    "'foo.example' is not a numeric IPv4/IPv6 address (names are not resolved)",
                    NULL);
        check_error("[service web]\nlisten=127.0.0.1:70000\n",
                    "port '70000' is out of range 1-65535", NULL);
        check_error("[service web]\nlisten=unix:run/a.sock\n",
                    "unix socket path must be absolute", NULL);
        check_error("[service web]\nlisten=127.0.0.1:80;localhost:80\n",
                    SRC ": [service web] listen: ", "127.0.0.1:80 is listed twice", NULL);

        /* listen= is required, and the message names the group's file. */
        check_error("[service web]\nbackends=127.0.0.1:1\n", SRC ": [service web] listen: ",
                    "missing; expected at least one address", NULL);
        check_error("[service web]\n", SRC ": [service web] listen: missing", NULL);
}

static void test_listen_shared_between_services(void **state) {
        check_error("[service a]\nlisten=127.0.0.1:80\n"
                    "[service b]\nlisten=[::1]:80;localhost:80\n",
                    SRC ": [service b] listen: ",
                    "127.0.0.1:80 is also a listen address of [service a]", NULL);

        g_autoptr(lbd_config) c = parse_ok("[service a]\nlisten=127.0.0.1:80\n"
                                           "[service b]\nlisten=127.0.0.1:81\n");
        assert_int_equal(c->services->len, 2);
        assert_string_equal(service_at(c, 0)->name, "a");
        assert_string_equal(service_at(c, 1)->name, "b");
        assert_ptr_equal(lbd_config_find_service(c, "b"), service_at(c, 1));
        assert_null(lbd_config_find_service(c, "c"));
}

static void test_mode(void **state) {
        g_autoptr(lbd_config) h = parse_ok("[service web]\nlisten=127.0.0.1:1\nmode=http\n");
        assert_int_equal(service_at(h, 0)->mode, LBD_SERVICE_MODE_HTTP);
        g_autoptr(lbd_config) t = parse_ok("[service web]\nlisten=127.0.0.1:1\nmode=tcp  # raw\n");
        assert_int_equal(service_at(t, 0)->mode, LBD_SERVICE_MODE_TCP);

        static const char *const bad[] = { "udp", "HTTP", "", "http tcp" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = service_with("mode", bad[i]);
                check_error(text, SRC ": [service web] mode: ", "expected http or tcp", NULL);
        }

        assert_string_equal(lbd_service_mode_to_string(LBD_SERVICE_MODE_HTTP), "http");
        assert_string_equal(lbd_service_mode_to_string(LBD_SERVICE_MODE_TCP), "tcp");
        assert_int_equal(lbd_service_mode_from_string("http"), LBD_SERVICE_MODE_HTTP);
        assert_int_equal(lbd_service_mode_from_string("tcp"), LBD_SERVICE_MODE_TCP);
        assert_int_equal(lbd_service_mode_from_string("udp"), -EINVAL);
        assert_int_equal(lbd_service_mode_from_string(NULL), -EINVAL);
}

static void test_backend_options(void **state) {
        struct lbd_backend_config b = one_backend("10.0.0.11:80");
        assert_string_equal(b.address.text, "10.0.0.11:80");
        assert_int_equal(b.weight, 1);
        assert_int_equal(b.max_fails, 1);
        assert_int_equal(b.fail_timeout, 10);
        assert_int_equal(b.max_conns, 0);
        assert_int_equal(b.slow_start, 0);
        assert_false(b.backup);
        assert_false(b.down);

        b = one_backend("[::1]:8000  weight=1000 max-fails=0 fail-timeout=86400 max-conns=1000000 "
                        "slow-start=3600 backup down");
        assert_string_equal(b.address.text, "[::1]:8000");
        assert_int_equal(b.weight, 1000);
        assert_int_equal(b.max_fails, 0);
        assert_int_equal(b.fail_timeout, 86400);
        assert_int_equal(b.max_conns, 1000000);
        assert_int_equal(b.slow_start, 3600);
        assert_true(b.backup);
        assert_true(b.down);

        b = one_backend("unix:/run/app.sock\tdown\tweight=3");
        assert_string_equal(b.address.text, "unix:/run/app.sock");
        assert_true(b.down);
        assert_false(b.backup);
        assert_int_equal(b.weight, 3);

        /* An empty list is allowed: backends can come over D-Bus. */
        g_autoptr(lbd_config) c = parse_ok("[service web]\nlisten=127.0.0.1:1\nbackends=\n");
        assert_int_equal(service_at(c, 0)->backends->len, 0);
}

static void test_backend_errors(void **state) {
        static const struct {
                const char *item, *message;
        } bad[] = {
                /* The message of the brief, word for word. */
                { "10.0.0.11:80 weight=0", "'10.0.0.11:80 weight=0': weight must be 1-1000" },
                { "10.0.0.11:80 weight=1001", "weight must be 1-1000" },
                { "10.0.0.11:80 weight=-1", "weight must be a decimal number 1-1000, not '-1'" },
                { "10.0.0.11:80 weight=two", "not 'two'" },
                { "10.0.0.11:80 weight=", "weight must be a decimal number 1-1000, not ''" },
                { "10.0.0.11:80 weight", "weight needs a value, e.g. weight=1" },
                { "10.0.0.11:80 weight=2 weight=3", "weight= is given twice" },
                { "10.0.0.11:80 max-fails=1001", "max-fails must be 0-1000" },
                { "10.0.0.11:80 fail-timeout=0", "fail-timeout must be 1-86400 seconds" },
                { "10.0.0.11:80 max-conns=1000001", "max-conns must be 0-1000000" },
                { "10.0.0.11:80 slow-start=3601", "slow-start must be 0-3600 seconds" },
                { "10.0.0.11:80 backup=1", "backup takes no value" },
                { "10.0.0.11:80 down=yes", "down takes no value" },
                { "10.0.0.11:80 backup backup", "backup is given twice" },
                { "10.0.0.11:80 wieght=2", "unknown option 'wieght=2' (did you mean weight?)" },
                { "10.0.0.11:80 bakup", "unknown option 'bakup' (did you mean backup?)" },
                { "10.0.0.11:80 primary", "unknown option 'primary'; expected ADDRESS [weight=N]" },
                { "10.0.0.11 weight=2", "'10.0.0.11 weight=2': address has no port" },
                { "backend1:80", "names are not resolved" },
                { "unix:relative.sock", "unix socket path must be absolute" },
                { "weight=2 10.0.0.11:80", "'weight=2 10.0.0.11:80': address has no port" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = service_with("backends", bad[i].item);
                check_error(text, SRC ": [service web] backends: ", bad[i].message, NULL);
        }
}

static void test_duplicate_backends(void **state) {
        check_error("[service web]\nlisten=127.0.0.1:1\n"
                    "backends=10.0.0.11:80;10.0.0.12:80;10.0.0.11:80 weight=2\n",
                    SRC ": [service web] backends: ",
                    "'10.0.0.11:80 weight=2': backend 10.0.0.11:80 is listed twice", NULL);
        /* Same address, other spelling. */
        check_error("[service web]\nlisten=127.0.0.1:1\nbackends=localhost:80;127.0.0.1:0080\n",
                    "backend 127.0.0.1:80 is listed twice", NULL);
        check_error("[service web]\nlisten=127.0.0.1:1\n"
                    "backends=unix:/run/a.sock;unix:/run//a.sock backup\n",
                    "backend unix:/run/a.sock is listed twice", NULL);

        /* The same address in two services is fine. */
        g_autoptr(lbd_config) c = parse_ok("[service a]\nlisten=127.0.0.1:1\nbackends=10.0.0.1:80\n"
                                           "[service b]\nlisten=127.0.0.1:2\nbackends=10.0.0.1:80\n");
        assert_int_equal(c->services->len, 2);
}

static void test_health_check_forms(void **state) {
        static const char *const off[] = { "off", "none", "  off  # nothing" };
        for (size_t i = 0; i < G_N_ELEMENTS(off); i++) {
                g_autofree char *text = service_with("health-check", off[i]);
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_int_equal(service_at(c, 0)->health_check.type, LBD_HEALTH_CHECK_NONE);
                assert_null(service_at(c, 0)->health_check.path);
        }

        {
                g_autofree char *text = service_with("health-check", "tcp");
                g_autoptr(lbd_config) c = parse_ok(text);
                const struct lbd_health_check_config *h = &service_at(c, 0)->health_check;
                assert_int_equal(h->type, LBD_HEALTH_CHECK_TCP);
                assert_null(h->path);
                assert_int_equal(h->interval, 2);
                assert_int_equal(h->rise, 2);
                assert_int_equal(h->fall, 3);
                assert_int_equal(h->timeout, 1);
        }
        {
                g_autofree char *text =
                        service_with("health-check", "tcp interval=5 rise=1 fall=10 timeout=3");
                g_autoptr(lbd_config) c = parse_ok(text);
                const struct lbd_health_check_config *h = &service_at(c, 0)->health_check;
                assert_int_equal(h->type, LBD_HEALTH_CHECK_TCP);
                assert_int_equal(h->interval, 5);
                assert_int_equal(h->rise, 1);
                assert_int_equal(h->fall, 10);
                assert_int_equal(h->timeout, 3);
        }
        {
                g_autofree char *text = service_with("health-check", "http /");
                g_autoptr(lbd_config) c = parse_ok(text);
                const struct lbd_health_check_config *h = &service_at(c, 0)->health_check;
                assert_int_equal(h->type, LBD_HEALTH_CHECK_HTTP);
                assert_string_equal(h->path, "/");
                assert_int_equal(h->expect_min, 200);
                assert_int_equal(h->expect_max, 399);
        }
        {
                g_autofree char *text =
                        service_with("health-check", "http /status?full=1 expect=200 timeout=2");
                g_autoptr(lbd_config) c = parse_ok(text);
                const struct lbd_health_check_config *h = &service_at(c, 0)->health_check;
                assert_string_equal(h->path, "/status?full=1");
                assert_int_equal(h->expect_min, 200);
                assert_int_equal(h->expect_max, 200);
                assert_int_equal(h->timeout, 2);
        }
        {
                g_autofree char *text = service_with("health-check", "http /h expect=204-204");
                g_autoptr(lbd_config) c = parse_ok(text);
                assert_int_equal(service_at(c, 0)->health_check.expect_min, 204);
                assert_int_equal(service_at(c, 0)->health_check.expect_max, 204);
        }
        /* A later value replaces the path (and frees the old one). */
        {
                g_autoptr(lbd_config) c = parse_ok("[service web]\nlisten=127.0.0.1:1\n"
                                                   "health-check=http /a\n"
                                                   "[service web]\nhealth-check=http /b\n");
                assert_string_equal(service_at(c, 0)->health_check.path, "/b");
        }

        assert_string_equal(lbd_health_check_type_to_string(LBD_HEALTH_CHECK_NONE), "off");
        assert_string_equal(lbd_health_check_type_to_string(LBD_HEALTH_CHECK_TCP), "tcp");
        assert_string_equal(lbd_health_check_type_to_string(LBD_HEALTH_CHECK_HTTP), "http");
}

static void test_health_check_errors(void **state) {
        static const struct {
                const char *value, *message;
        } bad[] = {
                { "", "the value is empty; expected off, tcp" },
                { "ping", "unknown check type 'ping'" },
                { "HTTP /", "unknown check type 'HTTP'" },
                { "off interval=2", "off takes no options" },
                { "http", "an http check needs a path" },
                { "http interval=2", "an http check needs a path" },
                { "http healthz", "'healthz' is not a valid request path" },
                { "http /a\x7f", "is not a valid request path" },
                { "tcp expect=200", "expect= applies to http checks only" },
                { "tcp /healthz", "unknown option '/healthz'" },
                { "http /h expect=99", "expect must be a status 100-599" },
                { "http /h expect=600", "expect must be a status 100-599" },
                { "http /h expect=399-200", "expect must be a status 100-599 or a range" },
                { "http /h expect=200-", "expect must be" },
                { "http /h expect=abc", "expect must be" },
                { "http /h expect=200 expect=204", "expect= is given twice" },
                { "tcp interval=0", "interval must be 1-3600 seconds" },
                { "tcp interval=3601", "interval must be 1-3600 seconds" },
                { "tcp rise=0", "rise must be 1-100" },
                { "tcp fall=101", "fall must be 1-100" },
                { "tcp timeout=0", "timeout must be 1-3600 seconds" },
                { "tcp rise=2 rise=3", "rise= is given twice" },
                { "tcp intervl=2", "unknown option 'intervl=2' (did you mean interval?)" },
                { "tcp interval", "interval needs a value" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = service_with("health-check", bad[i].value);
                check_error(text, SRC ": [service web] health-check: ", bad[i].message, NULL);
        }

        g_autofree char *long_path = g_strnfill(1025, 'a');
        long_path[0] = '/';
        g_autofree char *value = g_strdup_printf("http %s", long_path);
        g_autofree char *text = service_with("health-check", value);
        check_error(text, "is not a valid request path", "at most 1024 bytes", NULL);
}

/* ---- syntax errors -------------------------------------------------------- */

static void test_syntax_errors(void **state) {
        check_error("# comment\n\n[daemon]\nworkers=3\nthis is not a key\n", SRC ": line 5: ",
                    "not a key-value pair", NULL);
        check_error("workers=3\n", SRC ": line 1: ", "does not start with a group", NULL);
        check_error("# c\n[daemon\n", SRC ": line 2: ", NULL);
        check_error("[daemon]\nthreads=4\nno newline at the end", SRC ": line 3: ", NULL);

        /* Invalid UTF-8 is named with its line (NUL bytes: test_file_with_nul). */
        check_error("[daemon]\nuser=\xff\xfe\n", SRC ": line 2: invalid UTF-8", NULL);
}

/* ---- files and drop-ins --------------------------------------------------- */

static void test_missing_main_uses_default(void **state) {
        struct dirs *d = *state;
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, false, d->dropins, &error);
        assert_non_null(c);
        assert_int_equal(c->sources->len, 1);
        assert_string_equal(c->sources->pdata[0], LBD_CONFIG_BUILTIN_NAME);
        assert_non_null(lbd_config_find_service(c, "default"));
        assert_string_equal(lbd_config_origin(c, "service default", "listen"),
                            LBD_CONFIG_BUILTIN_NAME);

        /* No drop-in directory at all is the same. */
        g_autofree char *nowhere = g_build_filename(d->root, "no-such-dir", NULL);
        g_autoptr(lbd_config) c2 = load(d->main, false, nowhere, &error);
        assert_non_null(c2);
        g_autoptr(lbd_config) c3 = load(d->main, false, NULL, &error);
        assert_non_null(c3);
        assert_int_equal(c3->sources->len, 1);
}

static void test_required_main_missing(void **state) {
        struct dirs *d = *state;
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        assert_null(c);
        assert_true(load_result < 0 && load_result != -EINVAL); /* cannot read */
        assert_non_null(strstr(error, d->main));
        assert_non_null(strstr(error, "No such file or directory"));
}

static void test_main_not_a_file(void **state) {
        struct dirs *d = *state;
        {
                /* A directory is not "missing": it is an error even when the
                 * main file is optional. */
                g_autofree char *error = NULL;
                g_autoptr(lbd_config) c = load(d->dropins, false, NULL, &error);
                assert_null(c);
                assert_true(load_result < 0 && load_result != -EINVAL); /* cannot read */
                assert_non_null(strstr(error, d->dropins));
                assert_non_null(strstr(error, "is a directory"));
        }
        {
                /* A FIFO would block a read: refused, without hanging. */
                g_autofree char *fifo = g_build_filename(d->root, "fifo.conf", NULL);
                assert_int_equal(mkfifo(fifo, 0600), 0);
                g_autofree char *error = NULL;
                g_autoptr(lbd_config) c = load(fifo, true, NULL, &error);
                assert_null(c);
                assert_non_null(strstr(error, "not a regular file"));
        }
        {
                /* /dev/null is the conventional empty configuration. */
                g_autofree char *error = NULL;
                g_autoptr(lbd_config) c = load("/dev/null", true, NULL, &error);
                assert_non_null(c);
                assert_int_equal(c->services->len, 0);
                assert_string_equal(c->sources->pdata[0], "/dev/null");
        }
}

/* A main file that exists but cannot be read is an error even when the main
 * file is optional: only "does not exist" means "use the default". (ENOTDIR
 * rather than EACCES, because the tests may run as root.) */
static void test_main_unreadable(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[daemon]\n");
        g_autofree char *below_file = g_build_filename(d->main, "lbd.conf", NULL);
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(below_file, false, NULL, &error);
        assert_null(c);
        assert_true(load_result < 0 && load_result != -EINVAL); /* cannot read */
        g_autofree char *expected = g_strdup_printf("%s: cannot read: Not a directory", below_file);
        assert_non_null(strstr(error, expected));
}

static void test_file_errors_name_the_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[daemon]\nworkers=banana\n");
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        assert_null(c);
        g_autofree char *expected = g_strdup_printf("%s: [daemon] workers: ", d->main);
        assert_non_null(strstr(error, expected));
}

static void test_file_with_nul(void **state) {
        struct dirs *d = *state;
        static const char data[] = "[daemon]\nthreads=4\nuser=a\0b\n";
        assert_true(g_file_set_contents(d->main, data, sizeof(data) - 1, NULL));
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, NULL, &error);
        assert_null(c);
        g_autofree char *expected = g_strdup_printf("%s: line 3: contains a NUL byte", d->main);
        assert_non_null(strstr(error, expected));
}

static void test_file_too_large(void **state) {
        struct dirs *d = *state;
        /* A sparse file: 17 MiB of zeros costs nothing on disk. */
        FILE *f = fopen(d->main, "w");
        assert_non_null(f);
        assert_int_equal(ftruncate(fileno(f), 17 * 1024 * 1024), 0);
        fclose(f);
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, NULL, &error);
        assert_null(c);
        assert_non_null(strstr(error, "larger than 16 MiB"));
}

static void test_dropin_merge(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf",
                   "[daemon]\nworkers=3\nthreads=2\n"
                   "[service web]\nlisten=127.0.0.1:18080\nmode=tcp\npolicy=least_conn\n"
                   "backends=127.0.0.1:18001;127.0.0.1:18002\n");
        /* strcmp order: "10-…" < "9-…" < "a…". */
        write_file(d->dropins, "9-workers.conf", "[daemon]\nworkers=9\n");
        write_file(d->dropins, "10-workers.conf", "[daemon]\nworkers=10\nuser=early\n");
        write_file(d->dropins, "a-service.conf",
                   "[service web]\nbackends=127.0.0.1:18009 weight=5\n"
                   "[service extra]\nlisten=127.0.0.1:18081\n"
                   "[daemon]\nuser=late\n");
        /* Ignored: not *.conf, hidden, a directory. */
        write_file(d->dropins, "zz.conf.disabled", "garbage\n");
        write_file(d->dropins, "README", "garbage\n");
        write_file(d->dropins, ".hidden.conf", "garbage\n");
        g_autofree char *subdir = g_build_filename(d->dropins, "sub.conf", NULL);
        assert_int_equal(mkdir(subdir, 0755), 0);

        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        if (!c)
                print_error("%s\n", error);
        assert_non_null(c);

        g_autofree char *p10 = g_build_filename(d->dropins, "10-workers.conf", NULL);
        g_autofree char *p9 = g_build_filename(d->dropins, "9-workers.conf", NULL);
        g_autofree char *pa = g_build_filename(d->dropins, "a-service.conf", NULL);
        assert_int_equal(c->sources->len, 4);
        assert_string_equal(c->sources->pdata[0], d->main);
        assert_string_equal(c->sources->pdata[1], p10);
        assert_string_equal(c->sources->pdata[2], p9);
        assert_string_equal(c->sources->pdata[3], pa);

        /* Key by key: the last file that set a key wins, the rest stays. */
        assert_int_equal(c->daemon.workers, 9);
        assert_int_equal(lbd_config_worker_count(c), 9);
        assert_string_equal(lbd_config_origin(c, "daemon", "workers"), p9);
        assert_int_equal(c->daemon.threads, 2);
        assert_string_equal(lbd_config_origin(c, "daemon", "threads"), d->main);
        assert_string_equal(c->daemon.user, "late");
        assert_string_equal(lbd_config_origin(c, "daemon", "user"), pa);
        assert_null(lbd_config_origin(c, "daemon", "keepalive"));

        /* The service keeps its place and its other keys; a list is replaced
         * as a whole. */
        assert_int_equal(c->services->len, 2);
        const struct lbd_service_config *web = service_at(c, 0);
        assert_string_equal(web->name, "web");
        assert_int_equal(web->mode, LBD_SERVICE_MODE_TCP);
        assert_string_equal(web->policy, "least_conn");
        assert_string_equal(listen_at(web, 0)->text, "127.0.0.1:18080");
        assert_int_equal(web->backends->len, 1);
        assert_string_equal(backend_at(web, 0)->address.text, "127.0.0.1:18009");
        assert_int_equal(backend_at(web, 0)->weight, 5);
        assert_string_equal(lbd_config_origin(c, "service web", "backends"), pa);
        assert_string_equal(lbd_config_origin(c, "service web", "mode"), d->main);

        /* A group new in a drop-in is a new service, after the others. */
        const struct lbd_service_config *extra = service_at(c, 1);
        assert_string_equal(extra->name, "extra");
        assert_string_equal(listen_at(extra, 0)->text, "127.0.0.1:18081");
        assert_string_equal(lbd_config_origin(c, "service extra", "listen"), pa);
}

static void test_dropin_over_default(void **state) {
        struct dirs *d = *state;
        write_file(d->dropins, "50-more.conf",
                   "[daemon]\nworkers=2\n[service default]\npolicy=ip_hash\n");
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, false, d->dropins, &error);
        assert_non_null(c);
        assert_int_equal(c->sources->len, 2);
        assert_string_equal(c->sources->pdata[0], LBD_CONFIG_BUILTIN_NAME);
        assert_int_equal(c->daemon.workers, 2);
        const struct lbd_service_config *s = lbd_config_find_service(c, "default");
        assert_non_null(s);
        assert_string_equal(s->policy, "ip_hash");
        assert_int_equal(s->backends->len, 3);
        assert_string_equal(lbd_config_origin(c, "service default", "listen"),
                            LBD_CONFIG_BUILTIN_NAME);
}

static void test_dropin_new_service_needs_listen(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[daemon]\nworkers=3\n");
        write_file(d->dropins, "20-api.conf", "[service api]\nbackends=127.0.0.1:9000\n");
        /* A later drop-in could still have supplied it: the check runs after
         * merging. */
        write_file(d->dropins, "30-other.conf", "[daemon]\nthreads=3\n");

        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        assert_null(c);
        g_autofree char *p = g_build_filename(d->dropins, "20-api.conf", NULL);
        g_autofree char *expected = g_strdup_printf("%s: [service api] listen: missing", p);
        if (!strstr(error, expected))
                print_error("%s\n", error);
        assert_non_null(strstr(error, expected));

        /* Supplied by a later drop-in: fine. */
        write_file(d->dropins, "40-api-listen.conf", "[service api]\nlisten=127.0.0.1:9001\n");
        g_clear_pointer(&error, g_free);
        g_autoptr(lbd_config) c2 = load(d->main, true, d->dropins, &error);
        assert_non_null(c2);
        assert_string_equal(listen_at(lbd_config_find_service(c2, "api"), 0)->text,
                            "127.0.0.1:9001");
}

static void test_dropin_errors_name_the_dropin(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[daemon]\nworkers=3\n");
        write_file(d->dropins, "90-bad.conf", "[daemon]\nworkers=-7\n");
        g_autofree char *p = g_build_filename(d->dropins, "90-bad.conf", NULL);

        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        assert_null(c);
        g_autofree char *expected = g_strdup_printf("%s: [daemon] workers: '-7' is negative", p);
        assert_non_null(strstr(error, expected));

        /* Syntax errors too, with the line. */
        write_file(d->dropins, "90-bad.conf", "[daemon]\n\nnonsense\n");
        g_clear_pointer(&error, g_free);
        g_autoptr(lbd_config) c2 = load(d->main, true, d->dropins, &error);
        assert_null(c2);
        g_autofree char *expected2 = g_strdup_printf("%s: line 3: ", p);
        assert_non_null(strstr(error, expected2));

        /* Unknown keys too. */
        write_file(d->dropins, "90-bad.conf", "[service web]\nlisen=127.0.0.1:1\n");
        g_clear_pointer(&error, g_free);
        g_autoptr(lbd_config) c3 = load(d->main, true, d->dropins, &error);
        assert_null(c3);
        g_autofree char *expected3 = g_strdup_printf("%s: [service web] lisen: unknown key "
                                                     "(did you mean listen?)",
                                                     p);
        assert_non_null(strstr(error, expected3));
}

/* A listen address shared across files names the file of the later one. */
static void test_dropin_listen_conflict(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[service a]\nlisten=127.0.0.1:80\n");
        write_file(d->dropins, "10-b.conf", "[service b]\nlisten=127.0.0.1:80\n");
        g_autofree char *p = g_build_filename(d->dropins, "10-b.conf", NULL);
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->dropins, &error);
        assert_null(c);
        g_autofree char *expected = g_strdup_printf("%s: [service b] listen: 127.0.0.1:80 is "
                                                    "also a listen address of [service a]",
                                                    p);
        assert_non_null(strstr(error, expected));
}

static void test_dropin_dangling_symlink(void **state) {
        struct dirs *d = *state;
        g_autofree char *link = g_build_filename(d->dropins, "50-gone.conf", NULL);
        assert_int_equal(symlink("/nonexistent/lbd-test.conf", link), 0);
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, false, d->dropins, &error);
        assert_null(c);
        assert_true(load_result < 0 && load_result != -EINVAL); /* cannot read */
        assert_non_null(strstr(error, link));
}

static void test_dropin_dir_not_a_dir(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", "[daemon]\n");
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) c = load(d->main, true, d->main, &error);
        assert_null(c);
        assert_true(load_result < 0 && load_result != -EINVAL); /* cannot read */
        assert_non_null(strstr(error, "cannot read the drop-in directory"));
}

int main(void) {
#define T(t) cmocka_unit_test(t)
#define TD(t) cmocka_unit_test_setup_teardown(t, setup_dirs, teardown_dirs)
        const struct CMUnitTest tests[] = {
                T(test_builtin_default),
                T(test_defaults_without_keys),
                T(test_design_example),
                T(test_inline_comments_and_whitespace),
                T(test_escapes),
                T(test_workers),
                T(test_worker_count),
                T(test_number_keys),
                T(test_plugin_names),
                T(test_user),
                T(test_groups),
                T(test_proxy_host),
                T(test_logs),
                T(test_statsd_host),
                T(test_admin_listen),
                T(test_statsd_prefix_and_tags),
                T(test_unknown_keys),
                T(test_unknown_groups),
                T(test_service_names),
                T(test_listen),
                T(test_listen_shared_between_services),
                T(test_mode),
                T(test_backend_options),
                T(test_backend_errors),
                T(test_duplicate_backends),
                T(test_health_check_forms),
                T(test_health_check_errors),
                T(test_syntax_errors),
                TD(test_missing_main_uses_default),
                TD(test_required_main_missing),
                TD(test_main_not_a_file),
                TD(test_main_unreadable),
                TD(test_file_errors_name_the_file),
                TD(test_file_with_nul),
                TD(test_file_too_large),
                TD(test_dropin_merge),
                TD(test_dropin_over_default),
                TD(test_dropin_new_service_needs_listen),
                TD(test_dropin_errors_name_the_dropin),
                TD(test_dropin_listen_conflict),
                TD(test_dropin_dangling_symlink),
                TD(test_dropin_dir_not_a_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
