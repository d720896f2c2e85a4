/* SPDX-License-Identifier: MIT */
/*
 * JSON for -o json, written through json-glib (a JsonBuilder, then a
 * JsonGenerator): the calls follow the document's order, and each
 * top-level value is written as one line when it is complete. Strings are
 * escaped as RFC 8259 requires (the UTF-8 that D-Bus guarantees passes
 * through).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "value.h"

struct _JsonBuilder;

struct json {
        FILE *f;
        struct _JsonBuilder *b; /* the document being built; NULL between documents */
        int depth;
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s); /* NULL writes null */
void json_uint(struct json *j, uint64_t u);
void json_int(struct json *j, int64_t i);
void json_double(struct json *j, double d);
void json_bool(struct json *j, bool b);
void json_null(struct json *j);
void json_strv(struct json *j, char *const *v);
/* A value tree; dict keys are written as they are. */
void json_value(struct json *j, const struct value *v);
/* CamelCase D-Bus names as JSON keys: "ActiveConnections" -> "active_connections". */
char *json_snake_case(const char *name);
