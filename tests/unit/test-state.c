/* SPDX-License-Identifier: MIT */
/* The state file (daemon/control/state.h) and what it is built on in config.c:
 * lbd_config_to_keyfile() round trips, lbd_config_load_state() with
 * [service NAME] removed=true, the atomic save (a stale temporary file from a
 * crash before the rename), loading a missing, corrupt or invalid state file
 * (moved aside, except when only checking), and the precedence of the
 * state file over the drop-ins over the main file. Real temporary
 * directories throughout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-files.h"
#include "state.h"

/* ---- helpers -------------------------------------------------------------- */

static struct lbd_config *parse_ok(const char *text) {
        g_autofree char *error = NULL;
        struct lbd_config *c = lbd_config_load_from_data(text, "test.conf", &error);
        if (!c)
                print_error("unexpected error: %s\nfor:\n%s\n", error, text);
        assert_non_null(c);
        return c;
}

static char *keyfile_text(const struct lbd_config *c, const struct lbd_config *base) {
        g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(c, base);
        return g_key_file_to_data(kf, NULL, NULL);
}

static void assert_backends_equal(const GArray *a, const GArray *b) {
        assert_int_equal(a->len, b->len);
        for (guint i = 0; i < a->len; i++) {
                const struct lbd_backend_config *x = &g_array_index(a, struct lbd_backend_config, i);
                const struct lbd_backend_config *y = &g_array_index(b, struct lbd_backend_config, i);
                assert_string_equal(x->address.text, y->address.text);
                assert_true(lbd_address_equal(&x->address, &y->address));
                assert_int_equal(x->weight, y->weight);
                assert_int_equal(x->max_fails, y->max_fails);
                assert_int_equal(x->fail_timeout, y->fail_timeout);
                assert_int_equal(x->max_conns, y->max_conns);
                assert_int_equal(x->slow_start, y->slow_start);
                assert_int_equal(x->backup, y->backup);
                assert_int_equal(x->down, y->down);
        }
}

static void assert_optional_string_equal(const char *a, const char *b) {
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void assert_services_equal(const struct lbd_service_config *a,
                                  const struct lbd_service_config *b) {
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->listen->len, b->listen->len);
        for (guint i = 0; i < a->listen->len; i++)
                assert_true(lbd_address_equal(&g_array_index(a->listen, struct lbd_address, i),
                                              &g_array_index(b->listen, struct lbd_address, i)));
        assert_int_equal(a->mode, b->mode);
        assert_string_equal(a->policy, b->policy);
        assert_int_equal(a->proxy_connect_timeout, b->proxy_connect_timeout);
        assert_int_equal(a->proxy_read_timeout, b->proxy_read_timeout);
        assert_optional_string_equal(a->proxy_host, b->proxy_host);
        assert_backends_equal(a->backends, b->backends);
        const struct lbd_health_check_config *h = &a->health_check, *k = &b->health_check;
        assert_int_equal(h->type, k->type);
        if (h->path || k->path) {
                assert_non_null(h->path);
                assert_non_null(k->path);
                assert_string_equal(h->path, k->path);
        }
        assert_int_equal(h->expect_min, k->expect_min);
        assert_int_equal(h->expect_max, k->expect_max);
        assert_int_equal(h->interval, k->interval);
        assert_int_equal(h->rise, k->rise);
        assert_int_equal(h->fall, k->fall);
        assert_int_equal(h->timeout, k->timeout);
}

/* Every setting equal; services compared by name (in_order: and position). */
static void assert_configs_equal(const struct lbd_config *a, const struct lbd_config *b,
                                 bool in_order) {
        const struct lbd_daemon_config *d = &a->daemon, *e = &b->daemon;
        assert_int_equal(d->workers, e->workers);
        assert_string_equal(d->worker_model, e->worker_model);
        assert_int_equal(d->worker_connections, e->worker_connections);
        assert_int_equal(d->threads, e->threads);
        assert_int_equal(d->timeout, e->timeout);
        assert_int_equal(d->graceful_timeout, e->graceful_timeout);
        assert_int_equal(d->keepalive, e->keepalive);
        assert_int_equal(d->max_requests, e->max_requests);
        assert_int_equal(d->max_requests_jitter, e->max_requests_jitter);
        assert_string_equal(d->user, e->user);
        assert_optional_string_equal(d->group, e->group);
        assert_int_equal(g_strv_length(d->extra_groups), g_strv_length(e->extra_groups));
        for (guint i = 0; d->extra_groups[i]; i++)
                assert_string_equal(d->extra_groups[i], e->extra_groups[i]);
        assert_string_equal(d->access_log, e->access_log);
        assert_string_equal(d->error_log, e->error_log);
        assert_optional_string_equal(d->statsd_host, e->statsd_host);

        assert_int_equal(a->services->len, b->services->len);
        for (guint i = 0; i < a->services->len; i++) {
                const struct lbd_service_config *s = a->services->pdata[i];
                const struct lbd_service_config *t =
                        in_order ? b->services->pdata[i] : lbd_config_find_service(b, s->name);
                assert_non_null(t);
                assert_services_equal(s, t);
        }
}

static struct lbd_service_config *service_mut(struct lbd_config *c, const char *name) {
        struct lbd_service_config *s =
                (struct lbd_service_config *)lbd_config_find_service(c, name);
        assert_non_null(s);
        return s;
}

static struct lbd_backend_config *backend_mut(struct lbd_service_config *s, guint i) {
        assert_true(i < s->backends->len);
        return &g_array_index(s->backends, struct lbd_backend_config, i);
}

/* A temporary directory per test with conf.d/ and state/ below it. */
struct dirs {
        char root[64];
        char *main_path, *dropins, *state;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int setup_dirs(void **state) {
        struct dirs *d = g_new0(struct dirs, 1);
        g_strlcpy(d->root, "/tmp/lbd-test-state-XXXXXX", sizeof(d->root));
        if (!mkdtemp(d->root))
                return -1;
        d->main_path = g_build_filename(d->root, "lbd.conf", NULL);
        d->dropins = g_build_filename(d->root, "conf.d", NULL);
        d->state = g_build_filename(d->root, "state", NULL);
        if (mkdir(d->dropins, 0755) < 0 || mkdir(d->state, 0700) < 0)
                return -1;
        *state = d;
        return 0;
}

static int teardown_dirs(void **state) {
        struct dirs *d = *state;
        if (nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return -1;
        g_free(d->main_path);
        g_free(d->dropins);
        g_free(d->state);
        g_free(d);
        return 0;
}

static void write_file(const char *dir, const char *name, const char *text) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autoptr(GError) error = NULL;
        assert_true(g_file_set_contents(path, text, -1, &error));
}

static char *read_file(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *text = NULL;
        assert_true(g_file_get_contents(path, &text, NULL, NULL));
        return text;
}

static bool exists(const char *dir, const char *name) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        return access(path, F_OK) == 0;
}

/* The names in dir, sorted. */
static GPtrArray *list_dir(const char *dir) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        for (struct dirent *de; (de = readdir(dd));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        g_ptr_array_add(names, g_strdup(de->d_name));
        closedir(dd);
        g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
        return names;
}

static struct lbd_config *load_files(const struct dirs *d) {
        g_autofree char *error = NULL;
        struct lbd_config *c = NULL;
        if (lbd_config_load(d->main_path, true, d->dropins, &c, &error) < 0)
                print_error("unexpected error: %s\n", error);
        assert_non_null(c);
        return c;
}

/* lbd_state_load() over the files of d that must succeed with result want. */
static struct lbd_config *load_with_state(const struct dirs *d, bool check_only, int want) {
        g_autofree char *error = NULL;
        struct lbd_config *c = NULL;
        int r = lbd_state_load(d->state, load_files(d), check_only, &c, &error);
        if (r < 0)
                print_error("unexpected error: %s\n", error);
        assert_int_equal(r, want);
        assert_non_null(c);
        assert_non_null(c->base);
        return c;
}

static void save_ok(const struct dirs *d, const struct lbd_config *c) {
        g_autofree char *error = NULL;
        int r = lbd_state_save(d->state, c, &error);
        if (r < 0)
                print_error("unexpected error: %s\n", error);
        assert_int_equal(r, 0);
}

/* Everything config.h can express, away from every default. */
static const char rich_config[] =
        "[daemon]\n"
        "workers=7\n"
        "worker-model=thread\n"
        "worker-connections=5000\n"
        "threads=16\n"
        "timeout=45\n"
        "graceful-timeout=0\n"
        "keepalive=0\n"
        "max-requests=10000\n"
        "max-requests-jitter=500\n"
        "user=www-data\n"
        "group=web\n"
        "extra-groups=www-data;ssl-cert\n"
        "access-log=/var/log/lbd/access.log\n"
        "error-log=/var/log/lbd/error.log\n"
        "statsd-host=[::1]:8125\n"
        "\n"
        "[service web]\n"
        "listen=0.0.0.0:80;[::]:80;unix:/run/lbd/web.sock\n"
        "mode=http\n"
        "policy=least_conn\n"
        "proxy-connect-timeout=3\n"
        "proxy-read-timeout=600\n"
        "proxy-host=[2001:db8::7]:8443\n"
        "backends=unix:/var/www/myapp/myapp.sock;"
        "10.0.0.11:8000 weight=2 max-fails=3 fail-timeout=20 max-conns=100 slow-start=30;"
        "10.0.0.12:8000 backup;[2001:db8::1]:8000 down max-fails=0\n"
        "health-check=http /healthz?full=1 expect=200-299 interval=5 rise=3 fall=4 timeout=2\n"
        "\n"
        "[service raw]\n"
        "listen=127.0.0.1:5432\n"
        "mode=tcp\n"
        "policy=ip_hash\n"
        "backends=10.0.0.21:5432 weight=1000;10.0.0.22:5432\n"
        "health-check=tcp interval=1 fall=1\n"
        "\n"
        "[service exact]\n"
        "listen=unix:/run/odd\\;name.sock\n"
        "health-check=http /ping expect=204\n"
        "\n"
        "[service empty]\n"
        "listen=127.0.0.1:9000\n"
        "backends=\n";

/* ---- serialising --------------------------------------------------------- */

/* parse(serialize(c)) == c, and serialising that again gives the same
 * text (the form is canonical). */
static void check_round_trip(const char *text) {
        g_autoptr(lbd_config) c = parse_ok(text);
        g_autofree char *once = keyfile_text(c, NULL);
        g_autoptr(lbd_config) again = parse_ok(once);
        assert_configs_equal(c, again, true);
        g_autofree char *twice = keyfile_text(again, NULL);
        assert_string_equal(once, twice);
}

static void test_round_trip_default(void **state) {
        check_round_trip(lbd_config_builtin_default);

        g_autoptr(lbd_config) c = parse_ok(lbd_config_builtin_default);
        g_autofree char *text = keyfile_text(c, NULL);
        assert_non_null(strstr(text, "[daemon]\nworkers=auto\n"));
        assert_non_null(strstr(text, "statsd-host=off\n"));
        assert_non_null(strstr(text, "backends=127.0.0.1:8001;127.0.0.1:8002;127.0.0.1:8003\n"));
        assert_non_null(strstr(text, "health-check=off\n"));
}

static void test_round_trip_rich(void **state) {
        check_round_trip(rich_config);

        g_autoptr(lbd_config) c = parse_ok(rich_config);
        g_autofree char *text = keyfile_text(c, NULL);
        /* Options only where they differ from the defaults; ';' in a path
         * escaped. */
        assert_non_null(strstr(text, "10.0.0.11:8000 weight=2 max-fails=3 fail-timeout=20 "
                                     "max-conns=100 slow-start=30;10.0.0.12:8000 backup;"
                                     "[2001:db8::1]:8000 max-fails=0 down\n"));
        assert_non_null(strstr(text, "listen=unix:/run/odd\\;name.sock\n"));
        assert_non_null(strstr(text, "health-check=http /healthz?full=1 expect=200-299 "
                                     "interval=5 rise=3 fall=4 timeout=2\n"));
        assert_non_null(strstr(text, "health-check=tcp interval=1 fall=1\n"));
        assert_non_null(strstr(text, "health-check=http /ping expect=204\n"));
        assert_non_null(strstr(text, "[service empty]\n"));
}

static void test_copy(void **state) {
        g_autoptr(lbd_config) c = parse_ok(rich_config);
        g_autoptr(lbd_config) copy = lbd_config_copy(c);
        assert_configs_equal(c, copy, true);
        assert_string_equal(lbd_config_origin(copy, "service web", "policy"), "test.conf");

        /* Deep: changing the copy leaves the original alone. */
        backend_mut(service_mut(copy, "web"), 1)->weight = 9;
        g_free(copy->daemon.user);
        copy->daemon.user = g_strdup("other");
        assert_int_equal(backend_mut(service_mut(c, "web"), 1)->weight, 2);
        assert_string_equal(c->daemon.user, "www-data");
}

static void test_difference(void **state) {
        g_autoptr(lbd_config) base = parse_ok(rich_config);
        g_autoptr(lbd_config) c = lbd_config_copy(base);

        g_autofree char *none = keyfile_text(c, base);
        assert_string_equal(none, "");

        c->daemon.workers = 3;
        backend_mut(service_mut(c, "web"), 0)->weight = 5;
        g_ptr_array_remove_index(c->services, 1); /* raw */
        g_autofree char *text = keyfile_text(c, base);
        assert_string_equal(text, "[daemon]\n"
                                  "workers=3\n"
                                  "\n"
                                  "[service web]\n"
                                  "backends=unix:/var/www/myapp/myapp.sock weight=5;"
                                  "10.0.0.11:8000 weight=2 max-fails=3 fail-timeout=20 "
                                  "max-conns=100 slow-start=30;10.0.0.12:8000 backup;"
                                  "[2001:db8::1]:8000 max-fails=0 down\n"
                                  "\n"
                                  "[service raw]\n"
                                  "removed=true\n");
}

/* ---- removed services ------------------------------------------------------ */

static void test_removed_service(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        write_file(d->state, "state.conf",
                   "[service raw]\nremoved=true   # over D-Bus\n"
                   "[service gone]\nremoved=true\n");
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        assert_int_equal(c->services->len, 3);
        assert_null(lbd_config_find_service(c, "raw"));
        assert_null(lbd_config_origin(c, "service raw", "listen"));
        assert_non_null(lbd_config_find_service(c, "web"));
        assert_non_null(lbd_config_find_service(c->base, "raw"));

        /* Only the state file may say it. */
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) bad =
                lbd_config_load_from_data("[service raw]\nremoved=true\n", "x.conf", &error);
        assert_null(bad);
        assert_non_null(strstr(error, "x.conf: [service raw] removed: only the state "
                                               "file lbd writes may remove a service"));
}

static void test_removed_must_stand_alone(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        static const char *const bad[] = {
                "[service raw]\nremoved=true\npolicy=round_robin\n",
                "[service raw]\nremoved=yes\n",
                "[service raw]\nremoved=false\n",
        };
        static const char *const messages[] = {
                "[service raw] removed: a removed service has no other keys",
                "[service raw] removed: 'yes' is not valid here; expected removed=true",
                "[service raw] removed: 'false' is not valid here; expected removed=true",
        };
        g_autoptr(lbd_config) files = load_files(d);
        g_autofree char *path = g_build_filename(d->state, "state.conf", NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                write_file(d->state, "state.conf", bad[i]);
                g_autofree char *error = NULL;
                struct lbd_config *c = NULL;
                assert_true(lbd_config_load_state(files, path, &c, &error) < 0);
                assert_null(c);
                if (!strstr(error, messages[i]))
                        print_error("'%s' lacks '%s'\n", error, messages[i]);
                assert_non_null(strstr(error, messages[i]));
                assert_true(g_str_has_prefix(error, path));
        }
}

/* ---- saving --------------------------------------------------------------- */

/* What D-Bus methods do: change the configuration in effect, save, and
 * after a restart (load again) it is all back. */
static void test_save_and_load(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        assert_configs_equal(c, c->base, true);

        c->daemon.workers = 2;
        g_free(c->daemon.worker_model);
        c->daemon.worker_model = g_strdup("event");
        c->daemon.threads = 8;
        struct lbd_service_config *web = service_mut(c, "web");
        backend_mut(web, 1)->weight = 7;
        backend_mut(web, 2)->down = true;
        g_free(web->policy);
        web->policy = g_strdup("round_robin");
        g_array_remove_index(web->backends, 0);
        g_ptr_array_remove(c->services, service_mut(c, "raw"));
        /* A service added over D-Bus: whole in the state file. */
        g_autoptr(lbd_config) added = parse_ok("[service api]\nlisten=127.0.0.1:9100\n"
                                               "mode=tcp\nbackends=127.0.0.1:9101 weight=3\n");
        g_ptr_array_add(c->services, g_ptr_array_steal_index(added->services, 0));
        save_ok(d, c);

        assert_false(exists(d->state, "state.conf.tmp"));
        g_autofree char *path = g_build_filename(d->state, "state.conf", NULL);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        g_autofree char *text = read_file(d->state, "state.conf");
        assert_true(g_str_has_prefix(text, "# Written by lbd"));
        assert_non_null(strstr(text, "[service raw]\nremoved=true\n"));
        assert_null(strstr(text, "max-requests")); /* unchanged keys are not there */

        g_autoptr(lbd_config) back = load_with_state(d, false, 0);
        assert_configs_equal(c, back, true);
        assert_string_equal(lbd_config_origin(back, "daemon", "workers"), path);
        assert_string_equal(lbd_config_origin(back, "daemon", "user"), d->main_path);
        assert_string_equal(
                g_ptr_array_index(back->sources, back->sources->len - 1), path);

        /* Changing a value back removes it from the file. */
        back->daemon.workers = back->base->daemon.workers;
        save_ok(d, back);
        g_autofree char *text2 = read_file(d->state, "state.conf");
        assert_null(strstr(text2, "workers="));
        assert_non_null(strstr(text2, "threads=8"));
}

static void test_save_without_changes(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", lbd_config_builtin_default);
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        save_ok(d, c);
        g_autoptr(lbd_config) back = load_with_state(d, false, 0);
        assert_configs_equal(c, back, true);
        /* The state directory is created when missing. */
        g_autofree char *sub = g_build_filename(d->state, "new", "dir", NULL);
        assert_int_equal(lbd_state_save(sub, c, NULL), 0);
        g_autofree char *saved = g_build_filename(sub, "state.conf", NULL);
        assert_int_equal(access(saved, F_OK), 0);
}

/* A crash after the temporary file was written but before the rename leaves
 * state.conf.tmp: it is never read, the old state.conf is intact, and the
 * next save replaces it. */
static void test_stale_temporary_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        c->daemon.workers = 5;
        save_ok(d, c);
        g_autofree char *old = read_file(d->state, "state.conf");

        write_file(d->state, "state.conf.tmp", "[daemon]\nworkers=99\n[half");
        g_autoptr(lbd_config) after_crash = load_with_state(d, false, 0);
        assert_int_equal(after_crash->daemon.workers, 5);
        g_autofree char *still = read_file(d->state, "state.conf");
        assert_string_equal(old, still);

        after_crash->daemon.workers = 6;
        save_ok(d, after_crash);
        assert_false(exists(d->state, "state.conf.tmp"));
        g_autoptr(lbd_config) back = load_with_state(d, false, 0);
        assert_int_equal(back->daemon.workers, 6);
        g_autoptr(GPtrArray) names = list_dir(d->state);
        assert_int_equal(names->len, 1);

        /* A symlink at the temporary name is replaced, not written through. */
        g_autofree char *target = g_build_filename(d->root, "elsewhere", NULL);
        g_autofree char *tmp = g_build_filename(d->state, "state.conf.tmp", NULL);
        assert_int_equal(symlink(target, tmp), 0);
        save_ok(d, back);
        assert_int_equal(access(target, F_OK), -1);
}

static void test_save_fails_cleanly(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", lbd_config_builtin_default);
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        c->daemon.workers = 4;
        save_ok(d, c);
        /* Something at the temporary name that cannot be removed (works
         * as root, unlike a read-only directory). */
        g_autofree char *tmp = g_build_filename(d->state, "state.conf.tmp", NULL);
        assert_int_equal(mkdir(tmp, 0700), 0);
        write_file(tmp, "x", "x");
        c->daemon.workers = 5;
        g_autofree char *error = NULL;
        int r = lbd_state_save(d->state, c, &error);
        assert_true(r < 0 && r != -EINVAL); /* the file system's errno */
        assert_non_null(strstr(error, "state.conf.tmp"));
        g_autoptr(lbd_config) back = load_with_state(d, false, 0);
        assert_int_equal(back->daemon.workers, 4);
}

/* ---- loading ---------------------------------------------------------------- */

static void test_missing_state_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        g_autoptr(lbd_config) files = load_files(d);
        assert_configs_equal(c, files, true);
        assert_configs_equal(c->base, files, true);
        assert_int_equal(c->sources->len, 1);

        /* A state directory that does not exist is the same. */
        g_autofree char *none = g_build_filename(d->root, "no-such-dir", NULL);
        struct lbd_config *c2 = NULL;
        assert_int_equal(lbd_state_load(none, load_files(d), false, &c2, NULL), 0);
        assert_configs_equal(c2, files, true);
        lbd_config_free(c2);
}

/* The one state.conf.corrupt-YYYYMMDD-HHMMSS[-N] in the state directory
 * besides those in skip; returns its name. */
static char *find_corrupt(const struct dirs *d, const char *skip) {
        g_autoptr(GPtrArray) names = list_dir(d->state);
        g_autoptr(GRegex) re = g_regex_new(
                "^state\\.conf\\.corrupt-[0-9]{8}-[0-9]{6}(-[0-9]+)?$", 0, 0, NULL);
        char *found = NULL;
        for (guint i = 0; i < names->len; i++) {
                const char *n = names->pdata[i];
                if (skip && strcmp(n, skip) == 0)
                        continue;
                if (strcmp(n, "state.conf") == 0)
                        continue;
                assert_true(g_regex_match(re, n, 0, NULL));
                assert_null(found);
                found = g_strdup(n);
        }
        assert_non_null(found);
        return found;
}

static void check_moved_aside(const struct dirs *d, const char *content, const char *reason) {
        write_file(d->state, "state.conf", content);

        /* lbd -t: reports, moves nothing. */
        g_autofree char *error = NULL;
        struct lbd_config *c = NULL;
        assert_true(lbd_state_load(d->state, load_files(d), true, &c, &error) < 0);
        assert_null(c);
        g_autofree char *path = g_build_filename(d->state, "state.conf", NULL);
        if (!strstr(error, reason))
                print_error("'%s' lacks '%s'\n", error, reason);
        assert_true(g_str_has_prefix(error, path));
        assert_non_null(strstr(error, reason));
        assert_non_null(strstr(error, "lbd would move it aside"));
        assert_true(exists(d->state, "state.conf"));

        /* Startup: moved aside with its content, the files alone in effect. */
        g_autoptr(lbd_config) started = load_with_state(d, false, 1);
        g_autoptr(lbd_config) files = load_files(d);
        assert_configs_equal(started, files, true);
        assert_false(exists(d->state, "state.conf"));
        g_autofree char *aside = find_corrupt(d, NULL);
        g_autofree char *kept = read_file(d->state, aside);
        assert_string_equal(kept, content);

        /* Again within the same second: a second name, the first kept. */
        write_file(d->state, "state.conf", content);
        g_autoptr(lbd_config) again = load_with_state(d, false, 1);
        g_autofree char *aside2 = find_corrupt(d, aside);
        assert_string_not_equal(aside, aside2);

        /* And saving works afterwards. */
        again->daemon.workers = 3;
        save_ok(d, again);
        g_autoptr(lbd_config) back = load_with_state(d, false, 0);
        assert_int_equal(back->daemon.workers, 3);
}

static void test_corrupt_state_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        check_moved_aside(d, "[daemon]\nworkers=3\n[service web\n", "line 3:");
}

static void test_invalid_state_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        check_moved_aside(d, "[daemon]\nworkers=banana\n",
                          "[daemon] workers: 'banana' is not a decimal number");
}

/* Valid alone, invalid merged: the files changed under the state. */
static void test_state_file_invalid_after_merge(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        check_moved_aside(d, "[service api]\nlisten=127.0.0.1:5432\n",
                          "127.0.0.1:5432 is also a listen address of [service raw]");
}

static void test_unreadable_state_file(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf", rich_config);
        /* Not a text file: a NUL byte. */
        static const char binary[] = "[daemon]\nworkers=3\n\0garbage";
        g_autofree char *path = g_build_filename(d->state, "state.conf", NULL);
        assert_true(g_file_set_contents(path, binary, sizeof(binary), NULL));
        g_autoptr(lbd_config) c = load_with_state(d, false, 1);
        g_autofree char *aside = find_corrupt(d, NULL);
        (void)c;
}

/* ---- precedence ------------------------------------------------------------- */

static void test_precedence(void **state) {
        struct dirs *d = *state;
        write_file(d->root, "lbd.conf",
                   "[daemon]\nworkers=2\nthreads=2\nkeepalive=2\n"
                   "[service web]\nlisten=127.0.0.1:8080\nbackends=127.0.0.1:8001 weight=2\n"
                   "policy=least_conn\n");
        write_file(d->dropins, "10-more.conf",
                   "[daemon]\nworkers=3\nthreads=3\n"
                   "[service web]\nbackends=127.0.0.1:8001 weight=3\n");
        write_file(d->state, "state.conf",
                   "[daemon]\nworkers=4\n[service web]\nbackends=127.0.0.1:8001 weight=4\n");
        g_autoptr(lbd_config) c = load_with_state(d, false, 0);
        g_autofree char *state_path = g_build_filename(d->state, "state.conf", NULL);
        g_autofree char *dropin = g_build_filename(d->dropins, "10-more.conf", NULL);

        assert_int_equal(c->daemon.workers, 4);
        assert_string_equal(lbd_config_origin(c, "daemon", "workers"), state_path);
        assert_int_equal(c->daemon.threads, 3);
        assert_string_equal(lbd_config_origin(c, "daemon", "threads"), dropin);
        assert_int_equal(c->daemon.keepalive, 2);
        assert_string_equal(lbd_config_origin(c, "daemon", "keepalive"), d->main_path);
        const struct lbd_service_config *web = lbd_config_find_service(c, "web");
        assert_int_equal(g_array_index(web->backends, struct lbd_backend_config, 0).weight, 4);
        assert_string_equal(web->policy, "least_conn");
        assert_int_equal(c->sources->len, 3);

        /* The base is the files alone. */
        assert_int_equal(c->base->daemon.workers, 3);
        assert_int_equal(c->base->sources->len, 2);

        /* A save keeps only what differs from the files. */
        save_ok(d, c);
        g_autofree char *text = read_file(d->state, "state.conf");
        assert_non_null(strstr(text, "[daemon]\nworkers=4\n"));
        assert_null(strstr(text, "threads"));
        assert_null(strstr(text, "policy"));
}

int main(void) {
#define T(t) cmocka_unit_test(t)
#define TD(t) cmocka_unit_test_setup_teardown(t, setup_dirs, teardown_dirs)
        const struct CMUnitTest tests[] = {
                T(test_round_trip_default),
                T(test_round_trip_rich),
                T(test_copy),
                T(test_difference),
                TD(test_removed_service),
                TD(test_removed_must_stand_alone),
                TD(test_save_and_load),
                TD(test_save_without_changes),
                TD(test_stale_temporary_file),
                TD(test_save_fails_cleanly),
                TD(test_missing_state_file),
                TD(test_corrupt_state_file),
                TD(test_invalid_state_file),
                TD(test_state_file_invalid_after_merge),
                TD(test_unreadable_state_file),
                TD(test_precedence),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
