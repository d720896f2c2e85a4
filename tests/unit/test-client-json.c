/* SPDX-License-Identifier: MIT */
/*
 * lbclient's JSON writer (client/json.c, over json-glib): what it writes
 * parses back with json-glib's parser to the values written, every control
 * character is escaped (json-glib 1.6 writes U+001F raw in string values:
 * the writer mends that), and the layout is one line per document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "json.h"

/* Write with fn into memory, return the text (free). */
static char *written(void (*fn)(struct json *, const void *), const void *arg) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        struct json j;
        json_init(&j, f);
        fn(&j, arg);
        fclose(f);
        return text;
}

static void one_string(struct json *j, const void *arg) {
        json_begin_object(j);
        json_key(j, arg);
        json_string(j, arg);
        json_end_object(j);
}

static void every_control_character(void **state) {
        char s[64] = "a";
        size_t n = 1;
        for (int c = 1; c < 0x20; c++)
                s[n++] = (char)c;
        s[n++] = 0x7f;
        memcpy(s + n, "\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\"\\/", 13); /* é U+2028 😀 " \ / */
        n += 13;
        s[n] = 0;
        char *text = written(one_string, s);
        /* one line, no raw control character anywhere before its end */
        size_t len = strlen(text);
        assert_true(len > 0 && text[len - 1] == '\n');
        for (size_t i = 0; i + 1 < len; i++)
                if ((unsigned char)text[i] < 0x20)
                        fail_msg("raw control character 0x%02x at byte %zu of %s",
                                 (unsigned char)text[i], i, text);
        /* and it reads back as what was written, key and value */
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) e = NULL;
        assert_true(json_parser_load_from_data(p, text, -1, &e));
        JsonObject *o = json_node_get_object(json_parser_get_root(p));
        assert_string_equal(json_object_get_string_member(o, s), s);
        free(text);
}

static void values(struct json *j, const void *arg) {
        static const char *const strv[] = { "x", "y", NULL };
        json_begin_object(j);
        json_key(j, "u");
        json_uint(j, 18446744073709551615u >> 1);
        json_key(j, "i");
        json_int(j, -42);
        json_key(j, "d");
        json_double(j, 0.5);
        json_key(j, "nan");
        json_double(j, 0.0 / 0.0);
        json_key(j, "b");
        json_bool(j, true);
        json_key(j, "none");
        json_string(j, NULL);
        json_key(j, "list");
        json_strv(j, (char *const *)strv);
        json_key(j, "empty");
        json_begin_array(j);
        json_end_array(j);
        json_end_object(j);
}

static void numbers_and_layout(void **state) {
        char *text = written(values, NULL);
        assert_string_equal(text, "{\"u\":9223372036854775807,\"i\":-42,\"d\":0.5,\"nan\":null,"
                                  "\"b\":true,\"none\":null,\"list\":[\"x\",\"y\"],"
                                  "\"empty\":[]}\n");
        free(text);
}

static void two_documents(struct json *j, const void *arg) {
        json_begin_array(j);
        json_end_array(j);
        json_begin_object(j);
        json_key(j, "k");
        json_int(j, 1);
        json_end_object(j);
}

static void one_line_each(void **state) {
        char *text = written(two_documents, NULL);
        assert_string_equal(text, "[]\n{\"k\":1}\n");
        free(text);
}

static void snake_case(void **state) {
        char *s = json_snake_case("ActiveConnections");
        assert_string_equal(s, "active_connections");
        free(s);
        s = json_snake_case("IPv4Method");
        assert_string_equal(s, "ipv4_method");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_control_character),
                cmocka_unit_test(numbers_and_layout),
                cmocka_unit_test(one_line_each),
                cmocka_unit_test(snake_case),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
