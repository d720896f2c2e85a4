/* SPDX-License-Identifier: MIT */
/*
 * Tables in lbclient's three output formats: aligned columns for people
 * (colour only on a TTY without NO_COLOR), terse colon-separated lines for
 * shell scripts (':' and '\' escaped with '\', as nmcli does) and JSON for
 * programs. -f selects and orders the columns by field name.
 */
#pragma once

#include "lbclient.h"

enum cell_kind { CELL_STRING, CELL_UINT, CELL_BOOL, CELL_STRV };

enum {
        COL_RIGHT = 1 << 0, /* numbers: right-aligned */
        COL_STATE = 1 << 1, /* coloured by value (up, down, ...) */
        COL_EXTRA = 1 << 2, /* shown only when -f asks for it */
};

struct column {
        const char *name; /* field name for -f and JSON; header is its upper case */
        enum cell_kind kind;
        unsigned flags;
};

struct cell {
        char *text;
        uint64_t u;
        bool b;
        char **strv;
};

struct table {
        const struct column *cols;
        size_t ncols;
        struct cell *cells; /* nrows * ncols */
        size_t nrows, filled;
        size_t *sel; /* the columns shown, in order */
        size_t nsel;
};

struct table *table_new(const struct column *cols, size_t ncols);
void table_free(struct table *t);
static inline void table_freep(struct table **t) { table_free(*t); }
/* Append cells row by row, in column order. */
void table_add_string(struct table *t, const char *s);
void table_add_uint(struct table *t, uint64_t u);
void table_add_bool(struct table *t, bool b);
void table_add_strv(struct table *t, char *const *v); /* copies */
/* Apply -f (usage error naming the known fields on a bad one). Returns an exit code. */
int table_select(struct lbc *c, struct table *t);
/* Every row: a table, terse lines, or a JSON array of objects. */
void table_print(struct lbc *c, struct table *t);
/* The first row as "Field: value" lines, terse "field:value" lines, or one JSON object. */
void table_print_record(struct lbc *c, struct table *t);

/* Terse escaping: ':' -> "\:", '\' -> "\\". */
void terse_write(FILE *f, const char *s);
/* ANSI colour for a state word ("up" green, "down" red, ...), or "". */
const char *state_color(const char *state);
#define ANSI_BOLD "\033[1m"
#define ANSI_RESET "\033[0m"
