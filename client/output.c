/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "output.h"

struct table *table_new(const struct column *cols, size_t ncols) {
        struct table *t = calloc(1, sizeof(*t));
        if (!t)
                oom();
        t->cols = cols;
        t->ncols = ncols;
        return t;
}

void table_free(struct table *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->filled; i++) {
                free(t->cells[i].text);
                strv_free(t->cells[i].strv);
        }
        free(t->cells);
        free(t->sel);
        free(t);
}

static struct cell *next_cell(struct table *t) {
        if (t->filled % t->ncols == 0) {
                struct cell *cells = realloc(t->cells, (t->filled + t->ncols) * sizeof(*cells));
                if (!cells)
                        oom();
                t->cells = cells;
                memset(&cells[t->filled], 0, t->ncols * sizeof(*cells));
                t->nrows++;
        }
        return &t->cells[t->filled++];
}

void table_add_string(struct table *t, const char *s) {
        next_cell(t)->text = xstrdup(s ? s : "");
}

void table_add_uint(struct table *t, uint64_t u) {
        struct cell *c = next_cell(t);
        c->u = u;
        c->text = xasprintf("%" PRIu64, u);
}

void table_add_bool(struct table *t, bool b) {
        struct cell *c = next_cell(t);
        c->b = b;
        c->text = xstrdup(b ? "yes" : "no");
}

void table_add_strv(struct table *t, char *const *v) {
        struct cell *c = next_cell(t);
        c->strv = calloc(1, sizeof(char *));
        if (!c->strv)
                oom();
        for (; v && *v; v++)
                strv_push(&c->strv, *v);
        c->text = strv_join(c->strv, ",");
}

static int find_column(const struct table *t, const char *name, size_t len) {
        for (size_t i = 0; i < t->ncols; i++)
                if (strlen(t->cols[i].name) == len && strncasecmp(t->cols[i].name, name, len) == 0)
                        return (int)i;
        return -1;
}

int table_select(struct lbc *c, struct table *t) {
        free(t->sel);
        t->sel = calloc(t->ncols, sizeof(size_t));
        if (!t->sel)
                oom();
        t->nsel = 0;
        const char *f = c->fields;
        if (!f || strcmp(f, "all") == 0) {
                for (size_t i = 0; i < t->ncols; i++)
                        if (f || !(t->cols[i].flags & COL_EXTRA))
                                t->sel[t->nsel++] = i;
                return EXIT_OK;
        }
        while (*f) {
                size_t len = strcspn(f, ",");
                int i = find_column(t, f, len);
                if (i < 0) {
                        _cleanup_free_ char *known = xstrdup("");
                        for (size_t k = 0; k < t->ncols; k++) {
                                char *n = xasprintf("%s%s%s", known, k ? ", " : "",
                                                    t->cols[k].name);
                                free(known);
                                known = n;
                        }
                        return usage_error("unknown field '%.*s' for -f; the fields are: %s, "
                                           "or all", (int)len, f, known);
                }
                if (t->nsel < t->ncols)
                        t->sel[t->nsel++] = (size_t)i;
                f += len;
                if (*f == ',')
                        f++;
        }
        if (t->nsel == 0)
                return usage_error("-f needs at least one field name");
        return EXIT_OK;
}

void terse_write(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == ':' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
}

const char *state_color(const char *state) {
        if (!state)
                return "";
        if (strcmp(state, "up") == 0 || strcmp(state, "activated") == 0)
                return "\033[32m";
        if (strcmp(state, "down") == 0 || strcmp(state, "failed") == 0 ||
            strcmp(state, "unavailable") == 0)
                return "\033[31m";
        if (strcmp(state, "draining") == 0 || strcmp(state, "disabled") == 0 ||
            strcmp(state, "disconnected") == 0)
                return "\033[33m";
        return "";
}

/* Display width of UTF-8 text: one column per code point (lbd's values are ASCII). */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

static char *header_of(const char *name) {
        char *h = xstrdup(name);
        for (char *p = h; *p; p++)
                *p = *p == '_' ? '-' : (char)toupper((unsigned char)*p);
        return h;
}

/* A cell for people: lists with ", ", empty as "-". */
static char *human_text(const struct column *col, const struct cell *cell) {
        if (col->kind == CELL_STRV)
                return cell->strv && cell->strv[0] ? strv_join(cell->strv, ", ") : xstrdup("-");
        return xstrdup(cell->text && *cell->text ? cell->text : "-");
}

static void print_padded(struct lbc *c, const struct column *col, const char *text, size_t width,
                         bool last) {
        size_t pad = width - text_width(text);
        const char *color = c->color && (col->flags & COL_STATE) ? state_color(text) : "";
        if (col->flags & COL_RIGHT)
                printf("%*s", (int)pad, "");
        printf("%s%s%s", color, text, *color ? ANSI_RESET : "");
        if (!(col->flags & COL_RIGHT) && !last)
                printf("%*s", (int)pad, "");
}

static void json_cell(struct json *j, const struct column *col, const struct cell *cell) {
        switch (col->kind) {
        case CELL_STRING: json_string(j, cell->text); break;
        case CELL_UINT: json_uint(j, cell->u); break;
        case CELL_BOOL: json_bool(j, cell->b); break;
        case CELL_STRV: json_strv(j, cell->strv); break;
        }
}

static void print_json_row(struct json *j, struct table *t, size_t row) {
        json_begin_object(j);
        for (size_t k = 0; k < t->nsel; k++) {
                const struct column *col = &t->cols[t->sel[k]];
                json_key(j, col->name);
                json_cell(j, col, &t->cells[row * t->ncols + t->sel[k]]);
        }
        json_end_object(j);
}

static void print_terse_row(struct table *t, size_t row) {
        for (size_t k = 0; k < t->nsel; k++) {
                if (k)
                        fputc(':', stdout);
                terse_write(stdout, t->cells[row * t->ncols + t->sel[k]].text);
        }
        fputc('\n', stdout);
}

void table_print(struct lbc *c, struct table *t) {
        if (!t->sel && table_select(c, t) != EXIT_OK)
                return;
        if (c->output == OUTPUT_JSON) {
                struct json j;
                json_init(&j, stdout);
                json_begin_array(&j);
                for (size_t r = 0; r < t->nrows; r++)
                        print_json_row(&j, t, r);
                json_end_array(&j);
                return;
        }
        if (c->output == OUTPUT_TERSE) {
                for (size_t r = 0; r < t->nrows; r++)
                        print_terse_row(t, r);
                return;
        }
        size_t *width = calloc(t->nsel, sizeof(size_t));
        char **headers = calloc(t->nsel, sizeof(char *));
        char **texts = calloc(t->nrows * t->nsel + 1, sizeof(char *));
        if (!width || !headers || !texts)
                oom();
        for (size_t k = 0; k < t->nsel; k++) {
                headers[k] = header_of(t->cols[t->sel[k]].name);
                width[k] = text_width(headers[k]);
        }
        for (size_t r = 0; r < t->nrows; r++)
                for (size_t k = 0; k < t->nsel; k++) {
                        char *s = human_text(&t->cols[t->sel[k]],
                                             &t->cells[r * t->ncols + t->sel[k]]);
                        texts[r * t->nsel + k] = s;
                        if (text_width(s) > width[k])
                                width[k] = text_width(s);
                }
        if (c->color)
                fputs(ANSI_BOLD, stdout);
        for (size_t k = 0; k < t->nsel; k++) {
                static const struct column plain = { "", CELL_STRING, 0 };
                const struct column *col = &t->cols[t->sel[k]];
                struct column hc = plain;
                hc.flags = col->flags & COL_RIGHT;
                if (k)
                        fputs("  ", stdout);
                print_padded(c, &hc, headers[k], width[k], k + 1 == t->nsel);
        }
        if (c->color)
                fputs(ANSI_RESET, stdout);
        fputc('\n', stdout);
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t k = 0; k < t->nsel; k++) {
                        if (k)
                                fputs("  ", stdout);
                        print_padded(c, &t->cols[t->sel[k]], texts[r * t->nsel + k], width[k],
                                     k + 1 == t->nsel);
                }
                fputc('\n', stdout);
        }
        for (size_t k = 0; k < t->nsel; k++)
                free(headers[k]);
        for (size_t i = 0; i < t->nrows * t->nsel; i++)
                free(texts[i]);
        free(width);
        free(headers);
        free(texts);
}

void table_print_record(struct lbc *c, struct table *t) {
        if (!t->sel && table_select(c, t) != EXIT_OK)
                return;
        if (t->nrows == 0)
                return;
        if (c->output == OUTPUT_JSON) {
                struct json j;
                json_init(&j, stdout);
                print_json_row(&j, t, 0);
                return;
        }
        size_t width = 0;
        for (size_t k = 0; k < t->nsel; k++)
                if (strlen(t->cols[t->sel[k]].name) > width)
                        width = strlen(t->cols[t->sel[k]].name);
        for (size_t k = 0; k < t->nsel; k++) {
                const struct column *col = &t->cols[t->sel[k]];
                const struct cell *cell = &t->cells[t->sel[k]];
                if (c->output == OUTPUT_TERSE) {
                        printf("%s:", col->name);
                        terse_write(stdout, cell->text);
                        fputc('\n', stdout);
                        continue;
                }
                _cleanup_free_ char *text = human_text(col, cell);
                const char *color = c->color && (col->flags & COL_STATE) ? state_color(text) : "";
                printf("%s%s:%s%*s %s%s%s\n", c->color ? ANSI_BOLD : "", col->name,
                       c->color ? ANSI_RESET : "", (int)(width - strlen(col->name)), "", color,
                       text, *color ? ANSI_RESET : "");
        }
}
