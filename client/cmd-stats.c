/* SPDX-License-Identifier: MIT */
/* stats [--watch[=SECONDS]]: GetStatistics as tables, terse backend rows or JSON. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "output.h"
#include "value.h"

static const struct column stats_cols[] = {
        { "service", CELL_STRING, 0 },
        { "address", CELL_STRING, 0 },
        { "state", CELL_STRING, COL_STATE },
        { "weight", CELL_UINT, COL_RIGHT },
        { "active_connections", CELL_UINT, COL_RIGHT },
        { "requests", CELL_UINT, COL_RIGHT },
        { "failures", CELL_UINT, COL_RIGHT },
        { "5xx", CELL_UINT, COL_RIGHT },
        /* the total time of a request, from the backend's histogram */
        { "p50_us", CELL_UINT, COL_RIGHT },
        { "p99_us", CELL_UINT, COL_RIGHT },
        { "p999_us", CELL_UINT, COL_RIGHT },
        { "latency_us", CELL_UINT, COL_RIGHT },
};

static const struct column worker_cols[] = {
        { "pid", CELL_UINT, COL_RIGHT },
        { "active_connections", CELL_UINT, COL_RIGHT },
        { "accepted_connections", CELL_UINT, COL_RIGHT },
        { "requests", CELL_UINT, COL_RIGHT },
};

static uint64_t tuple_uint(const struct value *t, size_t i) {
        if (t->type != VALUE_ARRAY || i >= t->n)
                return 0;
        const struct value *v = &t->items[i];
        return v->type == VALUE_UINT ? v->u : v->type == VALUE_INT && v->i > 0 ? (uint64_t)v->i : 0;
}

/* Every key of a dict, snake-cased, except those named in skip. */
static void json_props(struct json *j, const struct value *dict, const char *const *skip) {
        for (size_t i = 0; dict && dict->type == VALUE_DICT && i < dict->n; i++) {
                bool skipped = false;
                for (const char *const *s = skip; s && *s; s++)
                        if (strcmp(*s, dict->items[i].key) == 0)
                                skipped = true;
                if (skipped)
                        continue;
                _cleanup_free_ char *key = json_snake_case(dict->items[i].key);
                json_key(j, key);
                json_value(j, &dict->items[i]);
        }
}

static void stats_json(const struct value *s) {
        static const char *const top_skip[] = { "WorkerProcesses", "Services", NULL };
        static const char *const service_skip[] = { "Backends", NULL };
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_props(&j, s, top_skip);
        json_key(&j, "worker_processes");
        json_begin_array(&j);
        const struct value *w = value_get(s, "WorkerProcesses");
        for (size_t i = 0; w && w->type == VALUE_ARRAY && i < w->n; i++) {
                json_begin_object(&j);
                for (size_t k = 0; k < ELEMENTSOF(worker_cols); k++) {
                        json_key(&j, worker_cols[k].name);
                        json_uint(&j, tuple_uint(&w->items[i], k));
                }
                json_end_object(&j);
        }
        json_end_array(&j);
        json_key(&j, "services");
        json_begin_array(&j);
        const struct value *services = value_get(s, "Services");
        for (size_t i = 0; services && services->type == VALUE_DICT && i < services->n; i++) {
                const struct value *sv = &services->items[i];
                json_begin_object(&j);
                json_key(&j, "name");
                json_string(&j, sv->key);
                json_props(&j, sv, service_skip);
                json_key(&j, "backends");
                json_begin_array(&j);
                const struct value *b = value_get(sv, "Backends");
                for (size_t k = 0; b && b->type == VALUE_DICT && k < b->n; k++) {
                        json_begin_object(&j);
                        json_key(&j, "address");
                        json_string(&j, b->items[k].key);
                        json_props(&j, &b->items[k], NULL);
                        json_end_object(&j);
                }
                json_end_array(&j);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
}

static struct table *backend_table(const struct value *s) {
        struct table *t = table_new(stats_cols, ELEMENTSOF(stats_cols));
        const struct value *services = value_get(s, "Services");
        for (size_t i = 0; services && services->type == VALUE_DICT && i < services->n; i++) {
                const struct value *sv = &services->items[i];
                const struct value *b = value_get(sv, "Backends");
                for (size_t k = 0; b && b->type == VALUE_DICT && k < b->n; k++) {
                        const struct value *bv = &b->items[k];
                        table_add_string(t, sv->key);
                        table_add_string(t, bv->key);
                        table_add_string(t, value_str(bv, "State"));
                        table_add_uint(t, value_uint(bv, "Weight"));
                        table_add_uint(t, value_uint(bv, "ActiveConnections"));
                        table_add_uint(t, value_uint(bv, "Requests"));
                        table_add_uint(t, value_uint(bv, "Failures"));
                        table_add_uint(t, value_uint(bv, "Responses5xx"));
                        table_add_uint(t, value_uint(bv, "TotalTimeP50Us"));
                        table_add_uint(t, value_uint(bv, "TotalTimeP99Us"));
                        table_add_uint(t, value_uint(bv, "TotalTimeP999Us"));
                        table_add_uint(t, value_uint(bv, "LatencyUs"));
                }
        }
        return t;
}

static int fetch(struct lbc *c, struct value *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "GetStatistics", false, &reply, NULL);
        if (r != EXIT_OK)
                return r;
        if (value_read(reply, ret) < 0 || ret->type != VALUE_DICT)
                return fail(EXIT_FAILED, "GetStatistics: unexpected reply.");
        return EXIT_OK;
}

static int show_once(struct lbc *c, const struct value *s) {
        _cleanup_(table_freep) struct table *t = backend_table(s);
        int r = table_select(c, t);
        if (r != EXIT_OK)
                return r;
        if (c->output == OUTPUT_JSON && !c->fields) {
                stats_json(s);
                return EXIT_OK;
        }
        if (c->output != OUTPUT_TABLE || c->fields) {
                table_print(c, t);
                return EXIT_OK;
        }
        const char *bold = c->color ? ANSI_BOLD : "", *reset = c->color ? ANSI_RESET : "";
        printf("%slbd:%s %" PRIu64 " workers, %" PRIu64 " active connections, %" PRIu64
               " accepted, %" PRIu64 " requests\n\n",
               bold, reset, value_uint(s, "Workers"), value_uint(s, "ActiveConnections"),
               value_uint(s, "AcceptedConnections"), value_uint(s, "Requests"));
        _cleanup_(table_freep) struct table *w = table_new(worker_cols, ELEMENTSOF(worker_cols));
        const char *fields = c->fields;
        c->fields = NULL;
        table_select(c, w);
        c->fields = fields;
        const struct value *procs = value_get(s, "WorkerProcesses");
        for (size_t i = 0; procs && procs->type == VALUE_ARRAY && i < procs->n; i++)
                for (size_t k = 0; k < ELEMENTSOF(worker_cols); k++)
                        table_add_uint(w, tuple_uint(&procs->items[i], k));
        table_print(c, w);
        fputc('\n', stdout);
        table_print(c, t);
        return EXIT_OK;
}

int cmd_stats(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'stats' takes no arguments (an interval is written "
                                   "--watch=SECONDS or -wSECONDS)");
        /* In place on a terminal; elsewhere one snapshot after another. */
        bool in_place = c->watch > 0 && c->output == OUTPUT_TABLE && isatty(STDOUT_FILENO);
        for (;;) {
                _cleanup_(value_clearp) struct value s = { 0 };
                int r = fetch(c, &s);
                if (r != EXIT_OK)
                        return r;
                if (in_place)
                        fputs("\033[H\033[2J", stdout); /* home, clear the screen */
                r = show_once(c, &s);
                if (r != EXIT_OK || c->watch <= 0)
                        return r;
                if (!in_place && c->output == OUTPUT_TABLE)
                        fputc('\n', stdout);
                fflush(stdout);
                if (ferror(stdout))
                        return EXIT_FAILED; /* e.g. the pipe's reader went away */
                struct timespec ts = { (time_t)c->watch,
                                       (long)((c->watch - (double)(time_t)c->watch) * 1e9) };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}
