/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader against real shared objects: the fixtures in
 * plugin-fixtures/ (LBD_PLUGIN_FIXTURE_DIR), copied into a fresh temporary
 * directory per test. Every refusal case checks three things: the bad
 * plugin is not in the set, the refusal list names its file with the
 * expected reason, and the good plugins next to it are loaded all the same.
 *
 * Ownership and mode cases need root (chown); they are skipped otherwise,
 * and the other cases then run with allow_insecure.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "plugin-loader.h"

#define NOBODY 65534

static const char *fixture_dir;

/* ---- per-test state ----------------------------------------------------- */

struct test_state {
        char *root;         /* temporary directory, removed after the test */
        struct lbd_host host; /* records what plugins log */
        GPtrArray *lines;   /* char *, what plugins logged through host */
        const void *param;  /* the case, for table-driven tests */
};

static void test_host_log(const struct lbd_host *host, int priority, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void test_host_log(const struct lbd_host *host, int priority, const char *format, ...) {
        struct test_state *s =
                (struct test_state *)((char *)host - offsetof(struct test_state, host));
        va_list ap;
        va_start(ap, format);
        g_ptr_array_add(s->lines, g_strdup_vprintf(format, ap));
        va_end(ap);
}

static int setup(void **state) {
        struct test_state *s = g_new0(struct test_state, 1);
        g_autoptr(GError) error = NULL;
        s->root = g_dir_make_tmp("test-plugin-loader-XXXXXX", &error);
        assert_non_null(s->root);
        assert_int_equal(chmod(s->root, 0755), 0);
        s->host = (struct lbd_host){
                .abi_version = LBD_PLUGIN_ABI_VERSION,
                .struct_size = sizeof(struct lbd_host),
                .log = test_host_log,
        };
        s->lines = g_ptr_array_new_with_free_func(g_free);
        s->param = *state;
        *state = s;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        struct test_state *s = *state;
        nftw(s->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        g_free(s->root);
        g_ptr_array_unref(s->lines);
        g_free(s);
        return 0;
}

static bool is_root(void) { return geteuid() == 0; }

/* ---- building plugin directories ---------------------------------------- */

/* ROOT/NAME, made with MODE. */
static char *make_dir(struct test_state *s, const char *name, mode_t mode) {
        char *path = g_build_filename(s->root, name, NULL);
        assert_int_equal(g_mkdir(path, 0700), 0);
        assert_int_equal(chmod(path, mode), 0);
        return path;
}

/* Copy a built fixture (plugin "x" is x.so, an executable has no suffix)
 * to DIR/AS, mode 0755. Copies, not symlinks: symlinks are refused. */
static char *install_as(const char *dir, const char *fixture, const char *as) {
        g_autofree char *from = g_build_filename(fixture_dir, fixture, NULL);
        g_autofree char *contents = NULL;
        gsize len = 0;
        g_autoptr(GError) error = NULL;
        if (!g_file_get_contents(from, &contents, &len, &error))
                fail_msg("cannot read fixture %s: %s", from, error->message);
        char *to = g_build_filename(dir, as, NULL);
        if (!g_file_set_contents_full(to, contents, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0755,
                                      &error))
                fail_msg("cannot write %s: %s", to, error->message);
        assert_int_equal(chmod(to, 0755), 0);
        return to;
}

static char *install(const char *dir, const char *fixture) {
        g_autofree char *file = g_strconcat(fixture, ".so", NULL);
        return install_as(dir, file, file);
}

static void write_file(const char *dir, const char *name, const char *contents) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        assert_true(g_file_set_contents_full(path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0755,
                                             NULL));
}

/* The three good plugins, one per kind. */
static void install_good(const char *dir) {
        g_free(install(dir, "good-worker"));
        g_free(install(dir, "good-policy"));
        g_free(install(dir, "good-network"));
}

/* ---- loading and checking ----------------------------------------------- */

static struct lbd_plugin_set *load_dirs(struct test_state *s, bool insecure, size_t n,
                                        const char *const *dirs) {
        struct lbd_plugin_loader_options o = {
                .allow_insecure = insecure || !is_root(),
                .host = &s->host,
        };
        struct lbd_plugin_set *set = NULL;
        assert_int_equal(lbd_plugin_set_load(dirs, n, &o, &set), 0);
        assert_non_null(set);
        return set;
}

static struct lbd_plugin_set *load_one(struct test_state *s, const char *dir) {
        return load_dirs(s, false, 1, (const char *const[]){ dir });
}

static const struct lbd_plugin *find_any(const struct lbd_plugin_set *set, const char *name) {
        for (size_t i = 0; i < lbd_plugin_set_size(set); i++)
                if (strcmp(lbd_plugin_set_get(set, i)->desc->name, name) == 0)
                        return lbd_plugin_set_get(set, i);
        return NULL;
}

static void assert_loaded_from(const struct lbd_plugin_set *set, enum lbd_plugin_kind kind,
                               const char *name, const char *path) {
        const struct lbd_plugin *p = lbd_plugin_set_find(set, kind, name);
        if (!p)
                fail_msg("plugin %s (%s) is not loaded", name, lbd_plugin_kind_to_string(kind));
        if (path)
                assert_string_equal(p->path, path);
        assert_non_null(p->handle);
}

static void assert_good_loaded(const struct lbd_plugin_set *set) {
        assert_loaded_from(set, LBD_PLUGIN_KIND_WORKER, "fx_worker", NULL);
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_policy", NULL);
        assert_loaded_from(set, LBD_PLUGIN_KIND_NETWORK, "fx_network", NULL);
}

static void assert_not_loaded(const struct lbd_plugin_set *set, const char *name) {
        if (find_any(set, name))
                fail_msg("plugin %s was loaded but must not be", name);
}

/* PATH is in the refusal list, with a reason containing REASON. */
static void assert_refused(const struct lbd_plugin_set *set, const char *path, const char *reason) {
        for (size_t i = 0; i < lbd_plugin_set_n_refusals(set); i++) {
                const struct lbd_plugin_refusal *r = lbd_plugin_set_get_refusal(set, i);
                if (strcmp(r->path, path) != 0)
                        continue;
                if (!strstr(r->reason, reason))
                        fail_msg("%s refused for \"%s\", expected \"%s\"", path, r->reason, reason);
                return;
        }
        fail_msg("%s is not in the refusal list (%zu refusals)", path,
                 lbd_plugin_set_n_refusals(set));
}

static size_t count_lines(const struct test_state *s, const char *line) {
        size_t n = 0;
        for (guint i = 0; i < s->lines->len; i++)
                n += strcmp(s->lines->pdata[i], line) == 0;
        return n;
}

/* ---- one bad fixture among good ones ------------------------------------ */

struct bad_case {
        const char *fixture;
        const char *name; /* its plugin name, if it has a valid one */
        const char *reason;
};

static const struct bad_case bad_cases[] = {
        { "bad-abi", "fx_bad_abi",
          "built for plugin ABI 2, this lbd uses ABI 1; rebuild it against this lbd's "
          "lbd-plugin.h" },
        { "no-entry", "fx_no_entry",
          "does not export lbd_plugin_get_descriptor (not an lbd plugin?)" },
        { "entry-null", "fx_entry_null", "lbd_plugin_get_descriptor() returned NULL" },
        { "small-descriptor", "fx_small_descriptor",
          "its descriptor is too small (struct_size 16" },
        { "bad-kind", "fx_bad_kind", "unknown kind 7 (expected 1 worker, 2 policy or 3 network)" },
        { "bad-name", NULL, "invalid name 'Bad-Name'" },
        { "long-name", NULL, "invalid name 'fx_a_name_that_is_longer_than_32c'" },
        { "null-name", NULL, "has no name" },
        { "null-description", "fx_null_description", "has no description" },
        { "null-ops", "fx_null_ops", "has no operation table (ops.policy is NULL)" },
        { "small-ops", "fx_small_ops", "its worker operation table is too small (struct_size 4" },
        { "no-run", "fx_no_run", "its worker operation table has no run" },
        { "no-pick", "fx_no_pick", "its policy operation table has no pick" },
        { "no-validate", "fx_no_validate", "its network operation table has no validate" },
        { "no-connection-type", "fx_no_connection_type",
          "its network operation table has no connection_type" },
        { "init-fails", "fx_init_fails", "init failed: Address already in use" },
        { "undefined-symbol", "fx_undefined_symbol",
          "undefined symbol: lbd_fixture_undefined_function" },
};

static void test_bad_plugin(void **state) {
        struct test_state *s = *state;
        const struct bad_case *c = s->param;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *bad = install(dir, c->fixture);

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_size(set), 3);
        if (c->name)
                assert_not_loaded(set, c->name);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
        assert_refused(set, bad, c->reason);
}

/* init() failed: fini() must not be called for it; the good ones get both. */
static void test_init_failure_no_fini(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_free(install(dir, "init-fails"));
        lbd_plugin_set_free(load_one(s, dir));
        assert_int_equal(count_lines(s, "init fx_init_fails"), 1);
        assert_int_equal(count_lines(s, "fini fx_init_fails"), 0);
        assert_int_equal(count_lines(s, "fini fx_policy"), 1);
}

/* ---- files that are not plugins ----------------------------------------- */

static void load_expect_one_refusal(struct test_state *s, const char *dir, const char *path,
                                    const char *reason) {
        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_size(set), 3);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
        assert_refused(set, path, reason);
}

static void test_text_file(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        write_file(dir, "x.so", "this is not a plugin\n");
        g_autofree char *path = g_build_filename(dir, "x.so", NULL);
        load_expect_one_refusal(s, dir, path, "not a shared object (no ELF header)");
}

static void test_empty_file(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        write_file(dir, "x.so", "");
        g_autofree char *path = g_build_filename(dir, "x.so", NULL);
        load_expect_one_refusal(s, dir, path, "not a shared object (no ELF header)");
}

static void test_elf_executable(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *path = install_as(dir, "not-a-plugin-exec", "x.so");
        load_expect_one_refusal(s, dir, path, "is an ELF executable, not a shared object");
}

static void test_elf_pie(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *path = install_as(dir, "not-a-plugin-pie", "x.so");
        load_expect_one_refusal(s, dir, path,
                                "is an ELF executable (position-independent), not a shared object");
}

static void test_symlink(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_autofree char *elsewhere = make_dir(s, "elsewhere", 0755);
        install_good(dir);
        g_autofree char *target = install(elsewhere, "second-policy");
        g_autofree char *link = g_build_filename(dir, "link.so", NULL);
        assert_int_equal(symlink(target, link), 0);

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_not_loaded(set, "fx_second");
        assert_refused(set, link, "not a regular file (symlinks are not followed)");
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);

        /* allow_insecure is about owners and modes, never about symlinks */
        _cleanup_plugin_set_ struct lbd_plugin_set *insecure =
                load_dirs(s, true, 1, (const char *const[]){ dir });
        assert_not_loaded(insecure, "fx_second");
        assert_refused(insecure, link, "not a regular file (symlinks are not followed)");
}

static void test_directory_and_fifo(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *subdir = g_build_filename(dir, "subdir.so", NULL);
        g_autofree char *fifo = g_build_filename(dir, "fifo.so", NULL);
        assert_int_equal(g_mkdir(subdir, 0755), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 2);
        assert_refused(set, subdir, "not a regular file");
        assert_refused(set, fifo, "not a regular file");
}

/* Files not named *.so, and hidden ones, are not looked at: broken ones
 * under such names would otherwise be refused. */
static void test_other_names_ignored(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        write_file(dir, "README", "plugins go here\n");
        g_free(install_as(dir, "bad-abi.so", "bad-abi.so.disabled"));
        g_free(install_as(dir, "bad-abi.so", ".hidden.so"));
        g_free(install_as(dir, "second-policy.so", "second-policy.so.bak"));

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_size(set), 3);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

/* ---- ownership and modes ------------------------------------------------ */

struct mode_case {
        bool chown_nobody;
        mode_t mode;
        const char *reason;
};

static const struct mode_case file_cases[] = {
        { true, 0755, "owned by uid 65534, not root" },
        { false, 0777, "writable by group or others (mode 0777)" },
        { false, 0775, "writable by group or others (mode 0775)" },
        { false, 0757, "writable by group or others (mode 0757)" },
        { false, 04755, "setuid or setgid (mode 4755)" },
        { false, 02755, "setuid or setgid (mode 2755)" },
};

static void test_file_owner_mode(void **state) {
        struct test_state *s = *state;
        const struct mode_case *c = s->param;
        if (!is_root())
                skip();
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *bad = install(dir, "second-policy");
        if (c->chown_nobody)
                assert_int_equal(chown(bad, NOBODY, NOBODY), 0);
        assert_int_equal(chmod(bad, c->mode), 0);

        {
                _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
                assert_good_loaded(set);
                assert_not_loaded(set, "fx_second");
                assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
                assert_refused(set, bad, c->reason);
        }
        /* allow_insecure (lbd --allow-unowned-plugins) lets it in */
        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, true, 1, (const char *const[]){ dir });
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_second", bad);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

static const struct mode_case dir_cases[] = {
        { true, 0755, "owned by uid 65534, not root" },
        { false, 0777, "writable by group or others (mode 0777)" },
        { false, 01777, "writable by group or others (mode 1777)" },
        { false, 0775, "writable by group or others (mode 0775)" },
};

/* A bad directory refuses every plugin file in it, naming the directory. */
static void test_dir_owner_mode(void **state) {
        struct test_state *s = *state;
        const struct mode_case *c = s->param;
        if (!is_root())
                skip();
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_autofree char *good_dir = make_dir(s, "good", 0755);
        g_autofree char *worker = install(dir, "good-worker");
        g_autofree char *policy = install(dir, "good-policy");
        g_free(install(good_dir, "good-network"));
        if (c->chown_nobody)
                assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
        assert_int_equal(chmod(dir, c->mode), 0);
        g_autofree char *reason = g_strdup_printf("directory %s is %s", dir, c->reason);

        const char *const dirs[] = { good_dir, dir };
        {
                _cleanup_plugin_set_ struct lbd_plugin_set *set = load_dirs(s, false, 2, dirs);
                assert_int_equal(lbd_plugin_set_size(set), 1);
                assert_loaded_from(set, LBD_PLUGIN_KIND_NETWORK, "fx_network", NULL);
                assert_not_loaded(set, "fx_worker");
                assert_not_loaded(set, "fx_policy");
                assert_int_equal(lbd_plugin_set_n_refusals(set), 2);
                assert_refused(set, worker, reason);
                assert_refused(set, policy, reason);
        }
        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_dirs(s, true, 2, dirs);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

/* ---- names -------------------------------------------------------------- */

/* Two files in one directory with one plugin name: the second in byte
 * order of the file names is refused, whichever it is. */
static void test_duplicate_same_dir(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_free(install(dir, "good-worker"));
        g_autofree char *a = install_as(dir, "other-policy.so", "a.so");
        g_autofree char *b = install_as(dir, "good-policy.so", "b.so");

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_int_equal(lbd_plugin_set_size(set), 2);
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_policy", a);
        assert_string_equal(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_POLICY, "fx_policy")
                                    ->desc->description,
                            "the other fx_policy");
        g_autofree char *reason =
                g_strdup_printf("duplicate plugin name 'fx_policy', already loaded from %s", a);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
        assert_refused(set, b, reason);
        /* the refused duplicate was never initialized */
        assert_int_equal(count_lines(s, "init fx_policy"), 1);
}

/* Names are global: a worker may not take a policy's name. */
static void test_duplicate_across_kinds(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_autofree char *w = install_as(dir, "worker-named-fx-policy.so", "zz-worker.so");

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_good_loaded(set);
        assert_int_equal(lbd_plugin_set_size(set), 3);
        assert_null(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_WORKER, "fx_policy"));
        g_autofree char *policy = g_build_filename(dir, "good-policy.so", NULL);
        g_autofree char *reason = g_strdup_printf(
                "duplicate plugin name 'fx_policy', already loaded from %s", policy);
        assert_refused(set, w, reason);
}

/* A file in a later directory shadows one of the same file name in an
 * earlier directory, which is never opened (here it would be refused). */
static void test_override_by_file_name(void **state) {
        struct test_state *s = *state;
        g_autofree char *low = make_dir(s, "packaged", 0755);
        g_autofree char *high = make_dir(s, "drop-in", 0755);
        write_file(low, "x.so", "not even ELF\n");
        g_autofree char *lw = install_as(low, "good-worker.so", "y.so");
        g_autofree char *hx = install_as(high, "good-policy.so", "x.so");

        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 2, (const char *const[]){ low, high });
        assert_int_equal(lbd_plugin_set_size(set), 2);
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_policy", hx);
        assert_loaded_from(set, LBD_PLUGIN_KIND_WORKER, "fx_worker", lw);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

/* Shadowing is decided on file names alone: a broken drop-in file still
 * hides the packaged one, and is refused itself. */
static void test_override_by_broken_file(void **state) {
        struct test_state *s = *state;
        g_autofree char *low = make_dir(s, "packaged", 0755);
        g_autofree char *high = make_dir(s, "drop-in", 0755);
        g_free(install_as(low, "good-policy.so", "x.so"));
        g_autofree char *hx = install_as(high, "bad-abi.so", "x.so");

        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 2, (const char *const[]){ low, high });
        assert_int_equal(lbd_plugin_set_size(set), 0);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
        assert_refused(set, hx, "built for plugin ABI 2");
        assert_int_equal(s->lines->len, 0);
}

/* A plugin name loaded from a later directory overrides the same name in
 * an earlier one: skipped (never initialized), not refused. */
static void test_override_by_plugin_name(void **state) {
        struct test_state *s = *state;
        g_autofree char *low = make_dir(s, "packaged", 0755);
        g_autofree char *high = make_dir(s, "drop-in", 0755);
        g_autofree char *lp = install_as(low, "good-policy.so", "policy-round-robin.so");
        g_autofree char *lw = install(low, "good-worker");
        g_autofree char *hp = install_as(high, "other-policy.so", "my-round-robin.so");

        {
                _cleanup_plugin_set_ struct lbd_plugin_set *set =
                        load_dirs(s, false, 2, (const char *const[]){ low, high });
                assert_int_equal(lbd_plugin_set_size(set), 2);
                assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_policy", hp);
                assert_loaded_from(set, LBD_PLUGIN_KIND_WORKER, "fx_worker", lw);
                assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
                assert_int_equal(count_lines(s, "init fx_policy"), 1);
        }
        /* the order of the directories decides, not their names */
        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 2, (const char *const[]){ high, low });
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_policy", lp);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

/* Across directories too, names are global: a drop-in worker called
 * fx_policy overrides the packaged policy fx_policy. */
static void test_override_across_kinds(void **state) {
        struct test_state *s = *state;
        g_autofree char *low = make_dir(s, "packaged", 0755);
        g_autofree char *high = make_dir(s, "drop-in", 0755);
        g_free(install(low, "good-policy"));
        g_autofree char *hw = install(high, "worker-named-fx-policy");

        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 2, (const char *const[]){ low, high });
        assert_int_equal(lbd_plugin_set_size(set), 1);
        assert_loaded_from(set, LBD_PLUGIN_KIND_WORKER, "fx_policy", hw);
        assert_null(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_POLICY, "fx_policy"));
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
}

/* The same directory given twice loads each plugin once. */
static void test_same_dir_twice(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 2, (const char *const[]){ dir, dir });
        assert_int_equal(lbd_plugin_set_size(set), 3);
        assert_int_equal(lbd_plugin_set_n_refusals(set), 0);
        assert_int_equal(count_lines(s, "init fx_policy"), 1);
}

/* ---- the set ------------------------------------------------------------ */

/* init() in load order (directories highest priority first, files by
 * name), fini() in reverse. */
static void test_init_fini_order(void **state) {
        struct test_state *s = *state;
        g_autofree char *low = make_dir(s, "packaged", 0755);
        g_autofree char *high = make_dir(s, "drop-in", 0755);
        g_free(install_as(low, "good-network.so", "1.so"));
        g_free(install_as(high, "good-worker.so", "2.so"));
        g_free(install_as(high, "good-policy.so", "3.so"));

        struct lbd_plugin_set *set = load_dirs(s, false, 2, (const char *const[]){ low, high });
        assert_int_equal(lbd_plugin_set_size(set), 3);
        assert_int_equal(s->lines->len, 3);
        lbd_plugin_set_free(set);

        static const char *const expected[] = {
                "init fx_worker", "init fx_policy", "init fx_network",
                "fini fx_network", "fini fx_policy", "fini fx_worker",
        };
        assert_int_equal(s->lines->len, G_N_ELEMENTS(expected));
        for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
                assert_string_equal(s->lines->pdata[i], expected[i]);
}

/* Iteration goes by kind, then name, whatever the load order. */
static void test_iteration_order(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_free(install_as(dir, "good-network.so", "a.so"));
        g_free(install_as(dir, "second-policy.so", "b.so"));
        g_free(install_as(dir, "good-worker.so", "c.so"));
        g_free(install_as(dir, "good-policy.so", "d.so"));
        g_free(install_as(dir, "placeholder.so", "e.so"));

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        static const char *const expected[] = { "fx_worker", "fx_placeholder", "fx_policy",
                                                "fx_second", "fx_network" };
        assert_int_equal(lbd_plugin_set_size(set), G_N_ELEMENTS(expected));
        for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
                assert_string_equal(lbd_plugin_set_get(set, i)->desc->name, expected[i]);
        assert_null(lbd_plugin_set_get(set, G_N_ELEMENTS(expected)));
}

static void test_names(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_free(install(dir, "second-policy"));
        g_free(install(dir, "good-policy"));
        g_free(install(dir, "good-worker"));

        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        g_autofree char *policies = lbd_plugin_set_names(set, LBD_PLUGIN_KIND_POLICY);
        g_autofree char *workers = lbd_plugin_set_names(set, LBD_PLUGIN_KIND_WORKER);
        g_autofree char *networks = lbd_plugin_set_names(set, LBD_PLUGIN_KIND_NETWORK);
        g_autofree char *none = lbd_plugin_set_names(NULL, LBD_PLUGIN_KIND_POLICY);
        assert_string_equal(policies, "fx_policy, fx_second");
        assert_string_equal(workers, "fx_worker");
        assert_string_equal(networks, "");
        assert_string_equal(none, "");

        /* find() matches the kind as well as the name */
        assert_non_null(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_POLICY, "fx_second"));
        assert_null(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_WORKER, "fx_second"));
        assert_null(lbd_plugin_set_find(set, LBD_PLUGIN_KIND_POLICY, "nope"));
        assert_null(lbd_plugin_set_find(NULL, LBD_PLUGIN_KIND_POLICY, "fx_second"));
}

static void test_placeholder(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_autofree char *path = install(dir, "placeholder");
        _cleanup_plugin_set_ struct lbd_plugin_set *set = load_one(s, dir);
        assert_loaded_from(set, LBD_PLUGIN_KIND_POLICY, "fx_placeholder", path);
        const struct lbd_plugin *p = lbd_plugin_set_find(set, LBD_PLUGIN_KIND_POLICY,
                                                         "fx_placeholder");
        assert_true(p->desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER);
}

static void test_missing_and_bad_dirs(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        g_autofree char *missing = g_build_filename(s->root, "missing", NULL);
        install_good(dir);
        write_file(s->root, "file", "");
        g_autofree char *file = g_build_filename(s->root, "file", NULL);

        _cleanup_plugin_set_ struct lbd_plugin_set *set =
                load_dirs(s, false, 3, (const char *const[]){ missing, dir, file });
        assert_good_loaded(set);
        /* a missing directory is normal; a file given as one is not */
        assert_int_equal(lbd_plugin_set_n_refusals(set), 1);
        assert_refused(set, file, "Not a directory");

        _cleanup_plugin_set_ struct lbd_plugin_set *empty = NULL;
        assert_int_equal(lbd_plugin_set_load(NULL, 0, NULL, &empty), 0);
        assert_int_equal(lbd_plugin_set_size(empty), 0);
        assert_int_equal(lbd_plugin_set_n_refusals(empty), 0);
        assert_null(lbd_plugin_set_get_refusal(empty, 0));
        lbd_plugin_set_free(NULL);
}

static void test_kind_to_string(void **state) {
        assert_string_equal(lbd_plugin_kind_to_string(LBD_PLUGIN_KIND_WORKER), "worker");
        assert_string_equal(lbd_plugin_kind_to_string(LBD_PLUGIN_KIND_POLICY), "policy");
        assert_string_equal(lbd_plugin_kind_to_string(LBD_PLUGIN_KIND_NETWORK), "network");
        assert_string_equal(lbd_plugin_kind_to_string((enum lbd_plugin_kind)9), "unknown");
}

/* ---- the default host: lines attributed to the plugin ------------------- */

/* Run load with stderr going to a file; return what was written. */
static char *capture_stderr_load(const char *dir, struct lbd_plugin_set **ret) {
        char path[] = "/tmp/test-plugin-loader-stderr-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);

        struct lbd_plugin_loader_options o = { .allow_insecure = !is_root() };
        int r = lbd_plugin_set_load((const char *const[]){ dir }, 1, &o, ret);

        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        assert_int_equal(r, 0);

        off_t size = lseek(fd, 0, SEEK_END);
        char *buf = g_malloc0((size_t)size + 1);
        assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
        close(fd);
        return buf;
}

static void test_default_host(void **state) {
        struct test_state *s = *state;
        g_autofree char *dir = make_dir(s, "plugins", 0755);
        install_good(dir);
        g_free(install(dir, "placeholder"));
        g_autofree char *bad = install(dir, "bad-abi");

        _cleanup_plugin_set_ struct lbd_plugin_set *set = NULL;
        g_autofree char *out = capture_stderr_load(dir, &set);
        assert_int_equal(lbd_plugin_set_size(set), 4);
        /* each plugin's own lines carry its name as the component */
        assert_non_null(strstr(out, ": fx_worker: init fx_worker\n"));
        assert_non_null(strstr(out, ": fx_policy: init fx_policy\n"));
        assert_non_null(strstr(out, ": fx_network: init fx_network\n"));
        assert_non_null(strstr(out, "plugin fx_placeholder is a placeholder: not built yet\n"));
        g_autofree char *refused =
                g_strdup_printf("warning: plugin %s refused: built for plugin ABI 2", bad);
        assert_non_null(strstr(out, refused));
}

/* Table-driven cases get one test each, named after the case. */
static void add_test(GArray *tests, GPtrArray *names, const char *name, CMUnitTestFunction f,
                     const void *param) {
        char *owned = g_strdup(name);
        g_ptr_array_add(names, owned);
        struct CMUnitTest t = {
                .name = owned,
                .test_func = f,
                .setup_func = setup,
                .teardown_func = teardown,
                .initial_state = (void *)param,
        };
        g_array_append_val(tests, t);
}

#define ADD(f) add_test(tests, names, #f, f, NULL)

int main(void) {
        fixture_dir = g_getenv("LBD_PLUGIN_FIXTURE_DIR");
        if (!fixture_dir) {
                fprintf(stderr, "LBD_PLUGIN_FIXTURE_DIR is not set (run through meson test)\n");
                return 1;
        }
        log_set_force_stderr(1);
        log_set_max_level(LOG_INFO);

        g_autoptr(GArray) tests = g_array_new(FALSE, FALSE, sizeof(struct CMUnitTest));
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
                g_autofree char *name = g_strconcat("refuse_", bad_cases[i].fixture, NULL);
                add_test(tests, names, name, test_bad_plugin, &bad_cases[i]);
        }
        ADD(test_init_failure_no_fini);
        ADD(test_text_file);
        ADD(test_empty_file);
        ADD(test_elf_executable);
        ADD(test_elf_pie);
        ADD(test_symlink);
        ADD(test_directory_and_fifo);
        ADD(test_other_names_ignored);
        for (size_t i = 0; i < G_N_ELEMENTS(file_cases); i++) {
                const struct mode_case *c = &file_cases[i];
                g_autofree char *name = g_strdup_printf(
                        "file_%s_%04o", c->chown_nobody ? "nobody" : "root", (unsigned)c->mode);
                add_test(tests, names, name, test_file_owner_mode, &file_cases[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(dir_cases); i++) {
                const struct mode_case *c = &dir_cases[i];
                g_autofree char *name = g_strdup_printf(
                        "dir_%s_%04o", c->chown_nobody ? "nobody" : "root", (unsigned)c->mode);
                add_test(tests, names, name, test_dir_owner_mode, &dir_cases[i]);
        }
        ADD(test_duplicate_same_dir);
        ADD(test_duplicate_across_kinds);
        ADD(test_override_by_file_name);
        ADD(test_override_by_broken_file);
        ADD(test_override_by_plugin_name);
        ADD(test_override_across_kinds);
        ADD(test_same_dir_twice);
        ADD(test_init_fini_order);
        ADD(test_iteration_order);
        ADD(test_names);
        ADD(test_placeholder);
        ADD(test_missing_and_bad_dirs);
        ADD(test_kind_to_string);
        ADD(test_default_host);

        return _cmocka_run_group_tests("test-plugin-loader", (const struct CMUnitTest *)tests->data,
                                       tests->len, NULL, NULL);
}
