/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "lbclient.h"

void json_init(struct json *j, FILE *f) {
        memset(j, 0, sizeof(*j));
        j->f = f;
        j->first[0] = true;
}

/* Before any value or key: the comma that separates it from the previous one. */
static void separate(struct json *j) {
        if (j->after_key) {
                j->after_key = false;
                return;
        }
        if (!j->first[j->depth])
                fputc(',', j->f);
        j->first[j->depth] = false;
}

static void open_container(struct json *j, char c) {
        separate(j);
        fputc(c, j->f);
        if (j->depth + 1 >= JSON_MAX_DEPTH)
                abort(); /* a bug in lbclient: no output nests this deep */
        j->first[++j->depth] = true;
}

static void close_container(struct json *j, char c) {
        fputc(c, j->f);
        j->depth--;
        if (j->depth == 0)
                fputc('\n', j->f);
}

void json_begin_object(struct json *j) { open_container(j, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j) { open_container(j, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

static void write_escaped(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

void json_key(struct json *j, const char *key) {
        separate(j);
        write_escaped(j->f, key);
        fputc(':', j->f);
        j->after_key = true;
}

void json_string(struct json *j, const char *s) {
        if (!s) {
                json_null(j);
                return;
        }
        separate(j);
        write_escaped(j->f, s);
}

void json_uint(struct json *j, uint64_t u) {
        separate(j);
        fprintf(j->f, "%" PRIu64, u);
}

void json_int(struct json *j, int64_t i) {
        separate(j);
        fprintf(j->f, "%" PRId64, i);
}

void json_double(struct json *j, double d) {
        if (!isfinite(d)) { /* JSON has no NaN or infinity */
                json_null(j);
                return;
        }
        separate(j);
        fprintf(j->f, "%.17g", d);
}

void json_bool(struct json *j, bool b) {
        separate(j);
        fputs(b ? "true" : "false", j->f);
}

void json_null(struct json *j) {
        separate(j);
        fputs("null", j->f);
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
