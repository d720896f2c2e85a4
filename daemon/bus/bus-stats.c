/* SPDX-License-Identifier: MIT */
/*
 * Counters for D-Bus: GetStatistics() and the counter properties.
 * Processes (workers) come from the scoreboard through the arbiter;
 * services and backends from the shared backend table (backend-table.h).
 */
#include <inttypes.h>

#include "arbiter.h"
#include "backend-table.h"
#include "bus-private.h"
#include "polkit.h"
#include "scoreboard.h"
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
        if (!t || lbd_table_service_stats(t, s->name, ret_active, ret_requests) < 0)
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

static int append_backend(sd_bus_message *reply, struct lbd_manager *m,
                          const struct lbd_service_config *s, const struct lbd_backend_config *b) {
        struct lbd_bus_counters c;
        lbd_bus_backend_counters(m, s, b, &c);
        return sd_bus_message_append(reply, "{sa{sv}}", b->address.text, 6,
                                     "State", "s", c.state,
                                     "Weight", "u", c.weight,
                                     "ActiveConnections", "u", c.active,
                                     "Requests", "t", c.requests,
                                     "Failures", "t", c.failures,
                                     "LatencyUs", "u", c.latency_us);
}

static int append_service(sd_bus_message *reply, struct lbd_manager *m,
                          const struct lbd_service_config *s) {
        uint64_t active, requests;
        lbd_bus_service_counters(m, s, &active, &requests);
        int r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", s->name);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}", "ActiveConnections", "t", active,
                                          "Requests", "t", requests);
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
