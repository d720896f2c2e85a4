/* SPDX-License-Identifier: MIT */
/*
 * A D-Bus value read into a tree, whatever its signature: lbclient reads
 * GetManagedObjects, GetAll, GetStatistics and signals with one reader and
 * looks up what it shows by name, so keys the daemon adds later do no harm.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

enum value_type {
        VALUE_NULL,
        VALUE_STRING, /* s, o, g */
        VALUE_INT,    /* n, i, x, h */
        VALUE_UINT,   /* y, q, u, t */
        VALUE_BOOL,
        VALUE_DOUBLE,
        VALUE_ARRAY,  /* arrays and structs */
        VALUE_DICT,   /* a{..}: items carry their key */
};

struct value {
        enum value_type type;
        char *key; /* set on the items of a dict */
        char *s;
        int64_t i;
        uint64_t u;
        bool b;
        double d;
        size_t n;
        struct value *items;
};

/* Read the next complete value of m (variants are unwrapped). */
int value_read(sd_bus_message *m, struct value *ret);
void value_clear(struct value *v);
static inline void value_clearp(struct value *v) { value_clear(v); }

/* Lookups: NULL or defaults when missing or of another type. */
const struct value *value_get(const struct value *dict, const char *key);
const char *value_str(const struct value *v, const char *key);
uint64_t value_uint(const struct value *v, const char *key);
bool value_bool(const struct value *v, const char *key);
/* An array of strings as a new strv (never NULL). */
char **value_strv(const struct value *v, const char *key);
