/* SPDX-License-Identifier: MIT */
/* lbd-etcd-sync's pure logic: the watch stream split into objects
 * (json-stream.c), backend keys and values (membership.c) and what lbd
 * must do to match them (the diff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "json-stream.h"
#include "membership.h"

static void test_stream_splits_objects_in_any_pieces(void **state) {
        const char *text = "{\"result\":{\"a\":\"}{\\\"\"}}\n{\"b\":[1,{\"c\":2}]}  \r\n{\"d\":3}";
        for (size_t piece = 1; piece <= strlen(text); piece++) {
                LbdJsonStream s;
                lbd_json_stream_init(&s);
                g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func(g_free);
                for (size_t i = 0; i < strlen(text); i += piece)
                        assert_true(lbd_json_stream_feed(&s, text + i, MIN(piece, strlen(text) - i),
                                                         objects));
                assert_int_equal(objects->len, 3);
                assert_string_equal(objects->pdata[0], "{\"result\":{\"a\":\"}{\\\"\"}}");
                assert_string_equal(objects->pdata[1], "{\"b\":[1,{\"c\":2}]}");
                assert_string_equal(objects->pdata[2], "{\"d\":3}");
                lbd_json_stream_clear(&s);
        }
}

static void test_stream_refuses_what_is_not_objects(void **state) {
        LbdJsonStream s;
        lbd_json_stream_init(&s);
        g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func(g_free);
        assert_false(lbd_json_stream_feed(&s, "[1]", 3, objects));
        lbd_json_stream_clear(&s);
        lbd_json_stream_init(&s);
        assert_false(lbd_json_stream_feed(&s, "{} x", 4, objects));
        lbd_json_stream_clear(&s);
}

static LbdMember *parse(const char *key, const char *value, char **error) {
        return lbd_member_parse("/lbd/", key, strlen(key), value, strlen(value), error);
}

static void test_a_good_value(void **state) {
        g_autofree char *error = NULL;
        g_autoptr(LbdMember) m = parse("/lbd/services/web/backends/app1",
                                       "{\"address\": \"localhost:8000\", \"weight\": 3, "
                                       "\"max_fails\": 0, \"backup\": true, \"drain\": true}",
                                       &error);
        assert_non_null(m);
        assert_null(error);
        assert_string_equal(m->service, "web");
        assert_string_equal(m->address, "127.0.0.1:8000"); /* as lbd shows it */
        assert_int_equal(m->weight, 3);
        assert_int_equal(m->max_fails, 0);
        assert_int_equal(m->fail_timeout, 10); /* lbd's default */
        assert_true(m->backup);
        assert_true(m->drain);
}

static void assert_bad(const char *key, const char *value, const char *says) {
        g_autofree char *error = NULL;
        g_autoptr(LbdMember) m = parse(key, value, &error);
        assert_null(m);
        assert_non_null(error);
        if (!strstr(error, says))
                fail_msg("%s = %s: \"%s\" does not say \"%s\"", key, value, error, says);
}

static void test_bad_values_say_why(void **state) {
        const char *k = "/lbd/services/web/backends/x";
        assert_bad(k, "{\"address\": \"10.0.0.1:80\", \"wieght\": 3}", "unknown key \"wieght\"");
        assert_bad(k, "{\"address\": \"10.0.0.1:80\", \"weight\": 0}",
                   "\"weight\" is 0; expected 1..1000");
        assert_bad(k, "{\"address\": \"10.0.0.1:80\", \"weight\": \"3\"}", "not a whole number");
        assert_bad(k, "{\"address\": \"10.0.0.1\"}", "\"address\":");
        assert_bad(k, "{\"weight\": 2}", "no \"address\"");
        assert_bad(k, "{\"address\": \"10.0.0.1:80\", \"backup\": 1}", "not true or false");
        assert_bad(k, "{address: 1", "not JSON");
        assert_bad(k, "[1, 2]", "not a JSON object");
        assert_bad(k, "\xff\xfe", "not JSON");
        assert_bad("/lbd/services/web/x", "{\"address\": \"10.0.0.1:80\"}", "not a backend key");
        assert_bad("/lbd/services/we b/backends/x", "{\"address\": \"10.0.0.1:80\"}",
                   "service name");
        assert_bad("/other/services/web/backends/x", "{\"address\": \"10.0.0.1:80\"}",
                   "not under the prefix");
        /* A key with a NUL byte in it (etcd keys are bytes). */
        g_autofree char *error = NULL;
        const char key[] = "/lbd/services/web/backends/a\0b";
        assert_null(lbd_member_parse("/lbd/", key, sizeof key - 1, "{}", 2, &error));
}

static LbdMember *member(const char *key, const char *service, const char *address, guint weight,
                         gboolean drain) {
        LbdMember *m = g_new0(LbdMember, 1);
        m->key = g_strdup(key);
        m->service = g_strdup(service);
        m->address = g_strdup(address);
        m->weight = weight;
        m->max_fails = 1;
        m->fail_timeout = 10;
        m->drain = drain;
        return m;
}

static LbdCurrent *current(const char *service, const char *address, const char *origin,
                           guint weight, const char *state) {
        LbdCurrent *c = g_new0(LbdCurrent, 1);
        c->path = g_strdup("/x");
        c->service = g_strdup(service);
        c->address = g_strdup(address);
        c->origin = g_strdup(origin);
        c->state = g_strdup(state);
        c->weight = weight;
        c->max_fails = 1;
        c->fail_timeout = 10;
        return c;
}

static char *ops_text(GArray *ops) {
        static const char *const names[] = {"add", "remove", "weight", "drain", "enable"};
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < ops->len; i++) {
                const LbdOp *op = &g_array_index(ops, LbdOp, i);
                g_string_append_printf(s, "%s%s %s", i ? "; " : "", names[op->kind],
                                       op->member ? op->member->address : op->current->address);
        }
        return g_string_free(s, FALSE);
}

static void test_the_diff(void **state) {
        const char *O = "etcd:/lbd/";
        g_autoptr(GPtrArray) members =
                g_ptr_array_new_with_free_func((GDestroyNotify)lbd_member_free);
        g_ptr_array_add(members,
                        member("/lbd/services/web/backends/new", "web", "10.0.0.1:80", 1, FALSE));
        g_ptr_array_add(members,
                        member("/lbd/services/web/backends/same", "web", "10.0.0.2:80", 2, FALSE));
        g_ptr_array_add(members, member("/lbd/services/web/backends/heavier", "web", "10.0.0.3:80",
                                        9, FALSE));
        g_ptr_array_add(members,
                        member("/lbd/services/web/backends/drain", "web", "10.0.0.4:80", 1, TRUE));
        g_ptr_array_add(members, member("/lbd/services/web/backends/undrain", "web", "10.0.0.5:80",
                                        1, FALSE));
        g_ptr_array_add(members,
                        member("/lbd/services/web/backends/local", "web", "10.0.0.9:80", 1, FALSE));
        g_ptr_array_add(members,
                        member("/lbd/services/api/backends/x", "api", "10.0.0.1:80", 1, FALSE));
        g_ptr_array_add(members,
                        member("/lbd/services/web/backends/zdup", "web", "10.0.0.1:80", 1, FALSE));
        LbdMember *changed =
                member("/lbd/services/web/backends/backup", "web", "10.0.0.6:80", 1, FALSE);
        changed->backup = TRUE;
        g_ptr_array_add(members, changed);

        g_autoptr(GPtrArray) cur = g_ptr_array_new_with_free_func((GDestroyNotify)lbd_current_free);
        g_ptr_array_add(cur, current("web", "10.0.0.2:80", O, 2, "up"));
        g_ptr_array_add(cur, current("web", "10.0.0.3:80", O, 1, "up"));
        g_ptr_array_add(cur, current("web", "10.0.0.4:80", O, 1, "up"));
        g_ptr_array_add(cur, current("web", "10.0.0.5:80", O, 1, "draining"));
        g_ptr_array_add(cur, current("web", "10.0.0.6:80", O, 1, "up"));
        g_ptr_array_add(cur, current("web", "10.0.0.7:80", O, 1, "up"));  /* gone from etcd */
        g_ptr_array_add(cur, current("web", "10.0.0.8:80", "", 1, "up")); /* local, not in etcd */
        g_ptr_array_add(cur, current("web", "10.0.0.9:80", "", 1, "up")); /* local, in etcd */
        g_ptr_array_add(cur, current("web", "10.0.0.10:80", "etcd:/other/", 1, "up"));

        const char *services[] = {"web", NULL};
        g_autoptr(GArray) ops = g_array_new(FALSE, FALSE, sizeof(LbdOp));
        g_autoptr(GArray) skips = g_array_new(FALSE, FALSE, sizeof(LbdSkip));
        lbd_membership_diff(members, services, cur, O, ops, skips);

        g_autofree char *text = ops_text(ops);
        /* By key: backup, drain, heavier, local (skipped), new, same (nothing),
         * undrain, zdup (skipped); then the one etcd no longer has. */
        assert_string_equal(text, "remove 10.0.0.6:80; add 10.0.0.6:80; drain 10.0.0.4:80; "
                                  "weight 10.0.0.3:80; add 10.0.0.1:80; enable 10.0.0.5:80; "
                                  "remove 10.0.0.7:80");
        assert_int_equal(skips->len, 3);
        g_autoptr(GString) why = g_string_new(NULL);
        for (guint i = 0; i < skips->len; i++) {
                LbdSkip *k = &g_array_index(skips, LbdSkip, i);
                g_string_append_printf(why, "%s: %s\n", k->member->key, k->why);
                g_free(k->why);
        }
        assert_non_null(strstr(why->str, "/lbd/services/api/backends/x: lbd has no service api"));
        assert_non_null(strstr(why->str, "/lbd/services/web/backends/local: 10.0.0.9:80 of web is "
                                         "configured in lbd locally; that one stays"));
        assert_non_null(strstr(why->str, "/lbd/services/web/backends/zdup: "
                                         "/lbd/services/web/backends/new has 10.0.0.1:80"));

        /* Nothing in etcd: only its own backends go. */
        g_autoptr(GPtrArray) none = g_ptr_array_new();
        g_autoptr(GArray) ops2 = g_array_new(FALSE, FALSE, sizeof(LbdOp));
        g_autoptr(GArray) skips2 = g_array_new(FALSE, FALSE, sizeof(LbdSkip));
        lbd_membership_diff(none, services, cur, O, ops2, skips2);
        g_autofree char *text2 = ops_text(ops2);
        assert_string_equal(text2, "remove 10.0.0.2:80; remove 10.0.0.3:80; remove 10.0.0.4:80; "
                                   "remove 10.0.0.5:80; remove 10.0.0.6:80; remove 10.0.0.7:80");
        assert_int_equal(skips2->len, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stream_splits_objects_in_any_pieces),
                cmocka_unit_test(test_stream_refuses_what_is_not_objects),
                cmocka_unit_test(test_a_good_value),
                cmocka_unit_test(test_bad_values_say_why),
                cmocka_unit_test(test_the_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
