/* SPDX-License-Identifier: MIT */
#include "admin-metrics.h"

#include <stdio.h>

#include "prometheus-format.h"
#include "scoreboard.h"

/* One service's reading, and its backends'. */
struct service_reading {
        const char *name;
        uint64_t active, requests;
        struct lbd_traffic_counts traffic;
        uint64_t codes[LBD_TABLE_STATUS_CODES];
        unsigned up, weight;
        GArray *backends; /* of struct backend_reading */
};

struct backend_reading {
        const char *address;
        struct lbd_backend_stats stats;
};

static GArray *read_all(const struct lbd_table *t, const struct lbd_config *config) {
        GArray *all = g_array_new(false, true, sizeof(struct service_reading));
        for (guint i = 0; config && i < config->services->len; i++) {
                const struct lbd_service_config *svc = config->services->pdata[i];
                struct service_reading r = { .name = svc->name };
                if (lbd_table_service_stats(t, svc->name, &r.active, &r.requests, &r.traffic) < 0)
                        continue;
                (void)lbd_table_service_codes(t, svc->name, r.codes);
                r.backends = g_array_new(false, true, sizeof(struct backend_reading));
                for (guint k = 0; k < svc->backends->len; k++) {
                        const struct lbd_backend_config *bc =
                                &g_array_index(svc->backends, struct lbd_backend_config, k);
                        struct backend_reading b = { .address = bc->address.text };
                        if (lbd_table_backend_stats(t, svc->name, bc->address.text, &b.stats) < 0)
                                continue;
                        if (b.stats.state == LBD_BACKEND_UP) {
                                r.up++;
                                r.weight += b.stats.weight;
                        }
                        g_array_append_val(r.backends, b);
                }
                g_array_append_val(all, r);
        }
        return all;
}

static void free_all(GArray *all) {
        for (guint i = 0; i < all->len; i++)
                g_array_unref(g_array_index(all, struct service_reading, i).backends);
        g_array_unref(all);
}

/* ---- the families --------------------------------------------------------- */

/* A counter or gauge read from a traffic reading, for both levels. */
struct traffic_metric {
        const char *suffix; /* after lbd_backend_ / lbd_server_ */
        enum lbd_prom_type type;
        const char *help;
        uint64_t (*get)(const struct lbd_traffic_counts *c);
};

static uint64_t ended(const struct lbd_traffic_counts *c) {
        uint64_t n = 0;
        for (unsigned i = 0; i < LBD_STATUS_CLASSES; i++)
                n += c->responses[i];
        return n;
}
#define GETTER(field)                                                        \
        static uint64_t get_##field(const struct lbd_traffic_counts *c) { \
                return c->field;                                             \
        }
GETTER(bytes_in)
GETTER(bytes_out)
GETTER(connect_attempts)
GETTER(connect_errors)
GETTER(response_errors)
GETTER(retries)
GETTER(reuses)
GETTER(client_aborts)
GETTER(server_aborts)
GETTER(active_max)
#undef GETTER

static const struct traffic_metric traffic_metrics[] = {
        { "sessions_total", LBD_PROM_COUNTER,
          "Requests (http) or connections (tcp) ended, counted in the last backend tried.",
          ended },
        { "max_sessions", LBD_PROM_GAUGE, "Most connections open at once.", get_active_max },
        { "bytes_in_total", LBD_PROM_COUNTER, "Bytes from clients.", get_bytes_in },
        { "bytes_out_total", LBD_PROM_COUNTER, "Bytes to clients.", get_bytes_out },
        { "connection_attempts_total", LBD_PROM_COUNTER, "Connections started to backends.",
          get_connect_attempts },
        { "connection_errors_total", LBD_PROM_COUNTER,
          "Connects refused, reset or timed out.", get_connect_errors },
        { "response_errors_total", LBD_PROM_COUNTER,
          "Backends that closed, reset or timed out before a response.", get_response_errors },
        { "retry_warnings_total", LBD_PROM_COUNTER,
          "Requests sent again to another backend after this one failed.", get_retries },
        { "connection_reuses_total", LBD_PROM_COUNTER,
          "Requests sent on a pooled upstream connection.", get_reuses },
        { "client_aborts_total", LBD_PROM_COUNTER,
          "Clients that left before the response was complete.", get_client_aborts },
        { "server_aborts_total", LBD_PROM_COUNTER,
          "Backends that closed in the middle of a response.", get_server_aborts },
};

static uint64_t average_us(const struct lbd_hist_counts *h) {
        uint64_t n = lbd_hist_total(h);
        return n ? h->sum_us / n : 0;
}

static const char *server_state(enum lbd_backend_state s) {
        switch (s) {
        case LBD_BACKEND_UP:
                return "UP";
        case LBD_BACKEND_DOWN:
                return "DOWN";
        case LBD_BACKEND_DRAINING:
                return "DRAIN";
        case LBD_BACKEND_DISABLED:
                return "MAINT";
        }
        return "DOWN";
}

static void name_of(char *out, size_t cap, const char *level, const char *suffix) {
        snprintf(out, cap, "lbd_%s_%s", level, suffix);
}

/* Calls fn for each service (servers false) or each backend (true) with
 * its labels (proxy, and server) and its traffic. */
typedef void (*row_fn)(GString *out, const char *name, const struct lbd_prom_labels *l,
                       const struct lbd_traffic_counts *c, const void *data);

static void each_row(GString *out, GArray *all, bool servers, const char *name, row_fn fn,
                     const void *data) {
        for (guint i = 0; i < all->len; i++) {
                const struct service_reading *r = &g_array_index(all, struct service_reading, i);
                if (!servers) {
                        struct lbd_prom_labels l = { { "proxy" }, { r->name } };
                        fn(out, name, &l, &r->traffic, data);
                        continue;
                }
                for (guint k = 0; k < r->backends->len; k++) {
                        const struct backend_reading *b =
                                &g_array_index(r->backends, struct backend_reading, k);
                        struct lbd_prom_labels l = { { "proxy", "server" },
                                                     { r->name, b->address } };
                        fn(out, name, &l, &b->stats.traffic, data);
                }
        }
}

static void traffic_row(GString *out, const char *name, const struct lbd_prom_labels *l,
                        const struct lbd_traffic_counts *c, const void *data) {
        const struct traffic_metric *tm = data;
        lbd_prom_sample(out, name, l, tm->get(c));
}

/* One sample per class, with code= after the row's labels. */
static void classes_row(GString *out, const char *name, const struct lbd_prom_labels *l,
                        const struct lbd_traffic_counts *c, const void *data) {
        struct lbd_prom_labels with = *l;
        unsigned n = 0;
        while (n < 3 && with.name[n])
                n++;
        for (unsigned k = 0; k < LBD_STATUS_CLASSES; k++) {
                with.name[n] = "code";
                with.value[n] = lbd_status_class_name(k);
                lbd_prom_sample(out, name, &with, c->responses[k]);
        }
}

struct histogram_choice {
        size_t offset; /* of the histogram in struct lbd_traffic_counts */
        unsigned stride;
};

static void histogram_row(GString *out, const char *name, const struct lbd_prom_labels *l,
                          const struct lbd_traffic_counts *c, const void *data) {
        const struct histogram_choice *h = data;
        lbd_prom_histogram(out, name, l, (const void *)((const char *)c + h->offset), h->stride);
}

/* The families both levels have, from their traffic readings. */
static void write_traffic(GString *out, GArray *all, bool servers) {
        const char *level = servers ? "server" : "backend";
        char name[96];
        for (size_t m = 0; m < G_N_ELEMENTS(traffic_metrics); m++) {
                name_of(name, sizeof name, level, traffic_metrics[m].suffix);
                lbd_prom_family(out, name, traffic_metrics[m].type, traffic_metrics[m].help);
                each_row(out, all, servers, name, traffic_row, &traffic_metrics[m]);
        }
        name_of(name, sizeof name, level, "http_responses_total");
        lbd_prom_family(out, name, LBD_PROM_COUNTER, "HTTP responses by class (tcp: 200, 502).");
        each_row(out, all, servers, name, classes_row, NULL);
}

/* A histogram family of each service (every bucket) or backend (one per
 * octave). */
static void write_histograms(GString *out, GArray *all, bool servers, const char *suffix,
                             const char *help, size_t offset) {
        char name[96];
        name_of(name, sizeof name, servers ? "server" : "backend", suffix);
        lbd_prom_family(out, name, LBD_PROM_HISTOGRAM, help);
        struct histogram_choice h = { offset, servers ? 2 : 1 };
        each_row(out, all, servers, name, histogram_row, &h);
}

/* lbd_backend_*_time_average_seconds, from the histograms (since start). */
static void write_averages(GString *out, GArray *all) {
        static const struct {
                const char *name, *help;
                size_t offset;
        } avg[] = {
                { "lbd_backend_connect_time_average_seconds",
                  "Average connect time since start.",
                  offsetof(struct lbd_traffic_counts, connect) },
                { "lbd_backend_response_time_average_seconds",
                  "Average time to the first response byte since start.",
                  offsetof(struct lbd_traffic_counts, first_byte) },
                { "lbd_backend_total_time_average_seconds",
                  "Average total time of a request (tcp: a connection) since start.",
                  offsetof(struct lbd_traffic_counts, total) },
        };
        for (size_t a = 0; a < G_N_ELEMENTS(avg); a++) {
                lbd_prom_family(out, avg[a].name, LBD_PROM_GAUGE, avg[a].help);
                for (guint i = 0; i < all->len; i++) {
                        const struct service_reading *r =
                                &g_array_index(all, struct service_reading, i);
                        struct lbd_prom_labels l = { { "proxy" }, { r->name } };
                        lbd_prom_sample_seconds(
                                out, avg[a].name, &l,
                                average_us((const void *)((const char *)&r->traffic +
                                                          avg[a].offset)));
                }
        }
}

static void write_services(GString *out, GArray *all) {
        lbd_prom_family(out, "lbd_backend_status", LBD_PROM_GAUGE,
                        "1 for the service's state: UP while a backend is usable, else DOWN.");
        for (guint i = 0; i < all->len; i++) {
                const struct service_reading *r = &g_array_index(all, struct service_reading, i);
                struct lbd_prom_labels up = { { "proxy", "state" }, { r->name, "UP" } };
                struct lbd_prom_labels down = { { "proxy", "state" }, { r->name, "DOWN" } };
                lbd_prom_sample(out, "lbd_backend_status", &up, r->up > 0);
                lbd_prom_sample(out, "lbd_backend_status", &down, r->up == 0);
        }
#define SERVICE_GAUGE(metric, type, help, expr)                                                \
        lbd_prom_family(out, metric, type, help);                                               \
        for (guint i = 0; i < all->len; i++) {                                                  \
                const struct service_reading *r = &g_array_index(all, struct service_reading, i); \
                struct lbd_prom_labels l = { { "proxy" }, { r->name } };                        \
                lbd_prom_sample(out, metric, &l, (expr));                                       \
        }
        SERVICE_GAUGE("lbd_backend_current_sessions", LBD_PROM_GAUGE,
                      "Connections open to the service's backends.", r->active)
        SERVICE_GAUGE("lbd_backend_http_requests_total", LBD_PROM_COUNTER,
                      "Requests (tcp: connections) sent to the service's backends, per try.",
                      r->requests)
        SERVICE_GAUGE("lbd_backend_active_servers", LBD_PROM_GAUGE, "Backends up.", r->up)
        SERVICE_GAUGE("lbd_backend_servers", LBD_PROM_GAUGE, "Backends configured.",
                      r->backends->len)
        SERVICE_GAUGE("lbd_backend_weight", LBD_PROM_GAUGE,
                      "Sum of the effective weights of the backends up.", r->weight)
#undef SERVICE_GAUGE
        lbd_prom_family(out, "lbd_backend_http_status_total", LBD_PROM_COUNTER,
                        "HTTP responses by status code (499: the client left first); codes "
                        "seen only.");
        for (guint i = 0; i < all->len; i++) {
                const struct service_reading *r = &g_array_index(all, struct service_reading, i);
                for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++) {
                        if (!r->codes[c])
                                continue;
                        char code[8];
                        snprintf(code, sizeof code, "%u", c + 100);
                        struct lbd_prom_labels l = { { "proxy", "code" }, { r->name, code } };
                        lbd_prom_sample(out, "lbd_backend_http_status_total", &l, r->codes[c]);
                }
        }
        write_averages(out, all);
}

static void write_servers(GString *out, GArray *all) {
        static const char *const states[] = { "UP", "DOWN", "DRAIN", "MAINT" };
        lbd_prom_family(out, "lbd_server_status", LBD_PROM_GAUGE,
                        "1 for the backend's state: UP, DOWN (health), DRAIN, MAINT (disabled).");
        for (guint i = 0; i < all->len; i++) {
                const struct service_reading *r = &g_array_index(all, struct service_reading, i);
                for (guint k = 0; k < r->backends->len; k++) {
                        const struct backend_reading *b =
                                &g_array_index(r->backends, struct backend_reading, k);
                        const char *now = server_state(b->stats.state);
                        for (size_t s = 0; s < G_N_ELEMENTS(states); s++) {
                                struct lbd_prom_labels l = { { "proxy", "server", "state" },
                                                             { r->name, b->address, states[s] } };
                                lbd_prom_sample(out, "lbd_server_status", &l,
                                                strcmp(now, states[s]) == 0);
                        }
                }
        }
#define SERVER_SAMPLE(metric, type, help, write)                                               \
        lbd_prom_family(out, metric, type, help);                                               \
        for (guint i = 0; i < all->len; i++) {                                                  \
                const struct service_reading *r = &g_array_index(all, struct service_reading, i); \
                for (guint k = 0; k < r->backends->len; k++) {                                  \
                        const struct backend_reading *b =                                       \
                                &g_array_index(r->backends, struct backend_reading, k);         \
                        const struct lbd_backend_stats *st = &b->stats;                         \
                        struct lbd_prom_labels l = { { "proxy", "server" },                     \
                                                     { r->name, b->address } };                 \
                        write;                                                                  \
                }                                                                               \
        }
        SERVER_SAMPLE("lbd_server_weight", LBD_PROM_GAUGE,
                      "Effective weight now (slow start included).",
                      lbd_prom_sample(out, "lbd_server_weight", &l, st->weight))
        SERVER_SAMPLE("lbd_server_current_sessions", LBD_PROM_GAUGE,
                      "Connections open to the backend, all workers.",
                      lbd_prom_sample(out, "lbd_server_current_sessions", &l, st->active))
        SERVER_SAMPLE("lbd_server_http_requests_total", LBD_PROM_COUNTER,
                      "Requests (tcp: connections) sent to the backend.",
                      lbd_prom_sample(out, "lbd_server_http_requests_total", &l, st->requests))
        SERVER_SAMPLE("lbd_server_check_up_down_total", LBD_PROM_COUNTER,
                      "Times the backend went down (active or passive health).",
                      lbd_prom_sample(out, "lbd_server_check_up_down_total", &l,
                                      (uint64_t)st->active_downs + st->passive_downs))
        SERVER_SAMPLE("lbd_server_downtime_seconds_total", LBD_PROM_COUNTER,
                      "Time spent down.",
                      lbd_prom_sample_seconds(out, "lbd_server_downtime_seconds_total", &l,
                                              st->down_ms * 1000))
        SERVER_SAMPLE("lbd_server_response_time_average_seconds", LBD_PROM_GAUGE,
                      "Moving average of the time to the first response byte (tcp: the "
                      "connect), as passive health sees it.",
                      lbd_prom_sample_seconds(out, "lbd_server_response_time_average_seconds", &l,
                                              st->latency_us))
#undef SERVER_SAMPLE
}

/* ---- workers ----------------------------------------------------------- */

struct worker_row {
        pid_t pid;
        uint64_t requests;
        uint32_t connections, accepted;
        const char *state;
};

static void add_worker(void *userdata, pid_t pid, const struct lbd_worker_slot *slot) {
        GArray *rows = userdata;
        struct worker_row w = {
                .pid = pid,
                .requests = atomic_load_explicit(&slot->requests, memory_order_relaxed),
                .connections = atomic_load_explicit(&slot->connections, memory_order_relaxed),
                .accepted = atomic_load_explicit(&slot->accepted, memory_order_relaxed),
                .state = atomic_load_explicit(&slot->stopping, memory_order_relaxed) ? "stopping"
                         : atomic_load_explicit(&slot->out_of_queue, memory_order_relaxed)
                                 ? "full"
                                 : "accepting",
        };
        g_array_append_val(rows, w);
}

static void write_workers(GString *out, const struct lbd_arbiter *a) {
        g_autoptr(GArray) rows = g_array_new(false, true, sizeof(struct worker_row));
        lbd_arbiter_foreach_worker(a, add_worker, rows);
        uint64_t connections = 0;
        for (guint i = 0; i < rows->len; i++)
                connections += g_array_index(rows, struct worker_row, i).connections;
        lbd_prom_family(out, "lbd_process_workers", LBD_PROM_GAUGE, "Workers configured.");
        lbd_prom_sample(out, "lbd_process_workers", NULL, lbd_arbiter_get_workers(a));
        lbd_prom_family(out, "lbd_process_generation", LBD_PROM_GAUGE,
                        "The workers' generation (1 at start, one more per reload).");
        lbd_prom_sample(out, "lbd_process_generation", NULL, lbd_arbiter_generation(a));
        lbd_prom_family(out, "lbd_process_current_connections", LBD_PROM_GAUGE,
                        "Client connections open, all workers.");
        lbd_prom_sample(out, "lbd_process_current_connections", NULL, connections);
        char pid[16];
#define WORKER_SAMPLE(metric, type, help, value)                                  \
        lbd_prom_family(out, metric, type, help);                                  \
        for (guint i = 0; i < rows->len; i++) {                                    \
                const struct worker_row *w = &g_array_index(rows, struct worker_row, i); \
                snprintf(pid, sizeof pid, "%d", (int)w->pid);                      \
                struct lbd_prom_labels l = { { "pid" }, { pid } };                 \
                lbd_prom_sample(out, metric, &l, (value));                         \
        }
        WORKER_SAMPLE("lbd_worker_requests_total", LBD_PROM_COUNTER,
                      "Requests (tcp: connections) the worker served.", w->requests)
        WORKER_SAMPLE("lbd_worker_current_connections", LBD_PROM_GAUGE,
                      "Client connections the worker has open.", w->connections)
        WORKER_SAMPLE("lbd_worker_accepted_total", LBD_PROM_COUNTER,
                      "Client connections the worker accepted.", w->accepted)
#undef WORKER_SAMPLE
        lbd_prom_family(out, "lbd_worker_state", LBD_PROM_GAUGE,
                        "1 for the worker's state: accepting, full (over its fair share, out "
                        "of the accept queue) or stopping.");
        static const char *const states[] = { "accepting", "full", "stopping" };
        for (guint i = 0; i < rows->len; i++) {
                const struct worker_row *w = &g_array_index(rows, struct worker_row, i);
                snprintf(pid, sizeof pid, "%d", (int)w->pid);
                for (size_t s = 0; s < G_N_ELEMENTS(states); s++) {
                        struct lbd_prom_labels l = { { "pid", "state" }, { pid, states[s] } };
                        lbd_prom_sample(out, "lbd_worker_state", &l, strcmp(w->state, states[s]) == 0);
                }
        }
}

GString *lbd_admin_metrics(const struct lbd_table *table, const struct lbd_config *config,
                           const struct lbd_arbiter *arbiter) {
        GString *out = g_string_sized_new(64 * 1024);
        if (arbiter)
                write_workers(out, arbiter);
        GArray *all = read_all(table, config);
        write_services(out, all);
        write_traffic(out, all, false);
        write_histograms(out, all, false, "connect_time_seconds",
                         "Time to connect to a backend (fresh connections).",
                         offsetof(struct lbd_traffic_counts, connect));
        write_histograms(out, all, false, "response_time_seconds",
                         "Time from the upstream connection ready to the first response byte.",
                         offsetof(struct lbd_traffic_counts, first_byte));
        write_histograms(out, all, false, "total_time_seconds",
                         "Total time of a request (tcp: a connection).",
                         offsetof(struct lbd_traffic_counts, total));
        write_servers(out, all);
        write_traffic(out, all, true);
        write_histograms(out, all, true, "total_time_seconds",
                         "Total time of a request (tcp: a connection), one bucket per octave.",
                         offsetof(struct lbd_traffic_counts, total));
        free_all(all);
        return out;
}
