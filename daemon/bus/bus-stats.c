/* SPDX-License-Identifier: MIT */
/*
 * Counters for D-Bus: GetStatistics() and the counter properties.
 * Processes (workers) come from the scoreboard through the arbiter;
 * services and backends from the shared backend table (backend-table.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "arbiter.h"
#include "backend-table.h"
#include "bus-private.h"
#include "polkit.h"
#include "scoreboard.h"
#include "statsd.h"
#include "cleanup.h"

/* ---- backends and services -------------------------------------------- */

static const char *config_state(const struct lbd_backend_config *b) {
        return b->down ? "disabled" : b->drain ? "draining" : "up";
}

void lbd_bus_backend_counters(struct lbd_manager *m, const struct lbd_service_config *s,
                              const struct lbd_backend_config *b, struct lbd_bus_counters *ret) {
        *ret = (struct lbd_bus_counters){
                .state = config_state(b),
                .weight = b->weight,
        };
        const struct lbd_table *t = m->table;
        struct lbd_backend_stats st;
        if (!t || lbd_table_backend_stats(t, s->name, b->address.text, &st) < 0)
                return;
        *ret = (struct lbd_bus_counters){
                .known = true,
                .state = lbd_backend_state_to_string(st.state),
                .active = st.active,
                .requests = st.requests,
                .failures = st.failures,
                .latency_us = st.latency_us,
                .weight = st.weight,
        };
}

void lbd_bus_service_counters(struct lbd_manager *m, const struct lbd_service_config *s,
                              uint64_t *ret_active, uint64_t *ret_requests) {
        /* The pool's sums include removed backends still draining. */
        const struct lbd_table *t = m->table;
        if (!t || lbd_table_service_stats(t, s->name, ret_active, ret_requests, NULL) < 0)
                *ret_active = *ret_requests = 0;
}

/* ---- GetStatistics ---------------------------------------------------- */

struct totals {
        sd_bus_message *reply; /* the a(iutt) being appended to, or NULL */
        int r;
        uint32_t workers;
        uint64_t active, accepted, requests;
};

static void add_worker(void *userdata, pid_t pid, const struct lbd_worker_slot *slot) {
        struct totals *t = userdata;
        uint32_t active = atomic_load_explicit(&slot->connections, memory_order_relaxed);
        uint64_t accepted = atomic_load_explicit(&slot->accepted, memory_order_relaxed);
        uint64_t requests = atomic_load_explicit(&slot->requests, memory_order_relaxed);
        t->workers++;
        t->active += active;
        t->accepted += accepted;
        t->requests += requests;
        if (t->reply && t->r >= 0)
                t->r = sd_bus_message_append(t->reply, "(iutt)", (int32_t)pid, active, accepted,
                                             requests);
}

/* The keys of a struct lbd_traffic_counts (documented in lbd(8)), into an
 * open a{sv}. */
static int append_traffic(sd_bus_message *reply, const struct lbd_traffic_counts *c) {
        static const char *const class_keys[LBD_STATUS_CLASSES] = {
                "Responses1xx", "Responses2xx", "Responses3xx",
                "Responses4xx", "Responses5xx", "ResponsesOther",
        };
        int r = 0;
        for (unsigned i = 0; r >= 0 && i < LBD_STATUS_CLASSES; i++)
                r = sd_bus_message_append(reply, "{sv}", class_keys[i], "t", c->responses[i]);
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "BytesIn", "t", c->bytes_in,
                        "BytesOut", "t", c->bytes_out, "ConnectAttempts", "t",
                        c->connect_attempts, "ConnectionErrors", "t", c->connect_errors,
                        "ResponseErrors", "t", c->response_errors, "Retries", "t", c->retries,
                        "Reuses", "t", c->reuses, "ClientAborts", "t", c->client_aborts,
                        "ServerAborts", "t", c->server_aborts);
        /* Percentiles of each histogram, in µs, since the backend came. */
        static const struct {
                const char *name;
                size_t offset;
        } hists[] = {
                { "ConnectTime", offsetof(struct lbd_traffic_counts, connect) },
                { "FirstByteTime", offsetof(struct lbd_traffic_counts, first_byte) },
                { "TotalTime", offsetof(struct lbd_traffic_counts, total) },
        };
        static const struct {
                const char *suffix;
                double q;
        } qs[] = { { "P50Us", 0.5 }, { "P90Us", 0.9 }, { "P99Us", 0.99 }, { "P999Us", 0.999 } };
        for (size_t h = 0; r >= 0 && h < sizeof hists / sizeof hists[0]; h++) {
                const struct lbd_hist_counts *hc =
                        (const void *)((const char *)c + hists[h].offset);
                for (size_t k = 0; r >= 0 && k < sizeof qs / sizeof qs[0]; k++) {
                        char key[40];
                        snprintf(key, sizeof key, "%s%s", hists[h].name, qs[k].suffix);
                        r = sd_bus_message_append(reply, "{sv}", key, "t",
                                                  lbd_hist_quantile_us(hc, qs[k].q));
                }
        }
        return r;
}

int lbd_bus_append_backend_statistics(sd_bus_message *reply, struct lbd_manager *m,
                                      const struct lbd_service_config *s,
                                      const struct lbd_backend_config *b) {
        struct lbd_backend_stats st = { .state = LBD_BACKEND_UP };
        bool known = m->table &&
                     lbd_table_backend_stats(m->table, s->name, b->address.text, &st) == 0;
        const char *state = known ? lbd_backend_state_to_string(st.state) : config_state(b);
        int r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "State", "s", state,
                        "Weight", "u", known ? st.weight : b->weight, "ActiveConnections", "u",
                        st.active, "ActiveConnectionsMax", "u", st.traffic.active_max,
                        "Requests", "t", st.requests, "Failures", "t", st.failures, "LatencyUs",
                        "u", st.latency_us, "ActiveHealthDowns", "u", st.active_downs,
                        "PassiveHealthDowns", "u", st.passive_downs, "DownTimeMs", "t",
                        st.down_ms);
        if (r >= 0)
                r = append_traffic(reply, &st.traffic);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_backend(sd_bus_message *reply, struct lbd_manager *m,
                          const struct lbd_service_config *s, const struct lbd_backend_config *b) {
        int r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", b->address.text);
        if (r >= 0)
                r = lbd_bus_append_backend_statistics(reply, m, s, b);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* A service's own keys into an open a{sv} (its backends are not among them). */
static int append_service_keys(sd_bus_message *reply, struct lbd_manager *m,
                               const struct lbd_service_config *s) {
        uint64_t active = 0, requests = 0;
        struct lbd_traffic_counts traffic = { 0 };
        if (m->table)
                (void)lbd_table_service_stats(m->table, s->name, &active, &requests, &traffic);
        int r = sd_bus_message_append(reply, "{sv}{sv}", "ActiveConnections", "t", active,
                                      "Requests", "t", requests);
        if (r >= 0)
                r = append_traffic(reply, &traffic);
        return r;
}

int lbd_bus_append_service_statistics(sd_bus_message *reply, struct lbd_manager *m,
                                      const struct lbd_service_config *s) {
        int r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_service_keys(reply, m, s);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_service(sd_bus_message *reply, struct lbd_manager *m,
                          const struct lbd_service_config *s) {
        int r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", s->name);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_service_keys(reply, m, s);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Backends");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        for (guint i = 0; r >= 0 && i < s->backends->len; i++)
                r = append_backend(reply, m, s,
                                   &g_array_index(s->backends, struct lbd_backend_config, i));
        for (int k = 0; r >= 0 && k < 5; k++) /* a, v, e, a{sv}, e */
                r = sd_bus_message_close_container(reply);
        return r;
}

int lbd_bus_method_get_statistics(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        /* Totals first need a pass over the workers; the per-worker list
         * is appended in a second pass (the same live set: nothing runs in
         * between on this thread). */
        struct totals t = { 0 };
        lbd_manager_foreach_worker(m, add_worker, &t);

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "Workers", "u", t.workers,
                                          "ActiveConnections", "t", t.active,
                                          "AcceptedConnections", "t", t.accepted, "Requests",
                                          "t", t.requests);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "StatsdSendErrors", "t",
                                          lbd_statsd_send_errors(m->statsd));
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "WorkerProcesses");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(iutt)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(iutt)");
        if (r >= 0) {
                struct totals per_worker = { .reply = reply };
                lbd_manager_foreach_worker(m, add_worker, &per_worker);
                r = per_worker.r;
        }
        for (int k = 0; r >= 0 && k < 3; k++) /* a, v, e */
                r = sd_bus_message_close_container(reply);

        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "Services");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        for (guint i = 0; r >= 0 && i < m->config->services->len; i++)
                r = append_service(reply, m, m->config->services->pdata[i]);
        for (int k = 0; r >= 0 && k < 4; k++) /* a, v, e, a{sv} */
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
