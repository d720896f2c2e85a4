/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <json-glib/json-glib.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "lbclient.h"

void json_init(struct json *j, FILE *f) {
        memset(j, 0, sizeof(*j));
        j->f = f;
}

static JsonBuilder *builder(struct json *j) {
        if (!j->b)
                j->b = json_builder_new_immutable();
        return j->b;
}

/* After a value: at the top level, the document is complete: write it out
 * on one line. json-glib 1.6 escapes control characters in member names but
 * writes U+001F raw in string values (an off-by-one in its escaping), and a
 * raw control character is not JSON; outside a string none can occur, so
 * every 0x1f byte of the output is that one and becomes \u001f. */
static void done_value(struct json *j) {
        if (j->depth > 0)
                return;
        g_autoptr(JsonNode) root = json_builder_get_root(j->b);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        json_generator_set_root(gen, root);
        g_autofree char *text = json_generator_to_data(gen, NULL);
        for (const char *p = text; *p; p++) {
                if (*p == 0x1f)
                        fputs("\\u001f", j->f);
                else
                        fputc(*p, j->f);
        }
        fputc('\n', j->f);
        g_clear_object(&j->b);
}

void json_begin_object(struct json *j) {
        json_builder_begin_object(builder(j));
        j->depth++;
}

void json_end_object(struct json *j) {
        json_builder_end_object(j->b);
        j->depth--;
        done_value(j);
}

void json_begin_array(struct json *j) {
        json_builder_begin_array(builder(j));
        j->depth++;
}

void json_end_array(struct json *j) {
        json_builder_end_array(j->b);
        j->depth--;
        done_value(j);
}

void json_key(struct json *j, const char *key) { json_builder_set_member_name(builder(j), key); }

void json_string(struct json *j, const char *s) {
        if (!s) {
                json_null(j);
                return;
        }
        json_builder_add_string_value(builder(j), s);
        done_value(j);
}

void json_uint(struct json *j, uint64_t u) {
        /* JSON numbers in json-glib are 64-bit signed or double: a count
         * past 2^63 (none that lbd keeps) would come out as a double. */
        if (u <= INT64_MAX)
                json_builder_add_int_value(builder(j), (int64_t)u);
        else
                json_builder_add_double_value(builder(j), (double)u);
        done_value(j);
}

void json_int(struct json *j, int64_t i) {
        json_builder_add_int_value(builder(j), i);
        done_value(j);
}

void json_double(struct json *j, double d) {
        if (!isfinite(d)) { /* JSON has no NaN or infinity */
                json_null(j);
                return;
        }
        json_builder_add_double_value(builder(j), d);
        done_value(j);
}

void json_bool(struct json *j, bool b) {
        json_builder_add_boolean_value(builder(j), b);
        done_value(j);
}

void json_null(struct json *j) {
        json_builder_add_null_value(builder(j));
        done_value(j);
}

void json_strv(struct json *j, char *const *v) {
        json_begin_array(j);
        for (; v && *v; v++)
                json_string(j, *v);
        json_end_array(j);
}

void json_value(struct json *j, const struct value *v) {
        switch (v->type) {
        case VALUE_NULL: json_null(j); break;
        case VALUE_STRING: json_string(j, v->s); break;
        case VALUE_INT: json_int(j, v->i); break;
        case VALUE_UINT: json_uint(j, v->u); break;
        case VALUE_BOOL: json_bool(j, v->b); break;
        case VALUE_DOUBLE: json_double(j, v->d); break;
        case VALUE_ARRAY:
                json_begin_array(j);
                for (size_t i = 0; i < v->n; i++)
                        json_value(j, &v->items[i]);
                json_end_array(j);
                break;
        case VALUE_DICT:
                json_begin_object(j);
                for (size_t i = 0; i < v->n; i++) {
                        json_key(j, v->items[i].key);
                        json_value(j, &v->items[i]);
                }
                json_end_object(j);
                break;
        }
}

char *json_snake_case(const char *name) {
        size_t n = strlen(name);
        char *out = malloc(2 * n + 1), *o = out;
        if (!out)
                oom();
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)name[i];
                /* A word starts at an upper-case letter after a lower-case one
                 * or a digit, or before a lower-case one ("IPv4Method"). */
                if (isupper(ch) && i > 0 &&
                    (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1])))
                        *o++ = '_';
                *o++ = (char)tolower(ch);
        }
        *o = '\0';
        return out;
}
