/* SPDX-License-Identifier: MIT */
#include "statsd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "cleanup.h"
#include "log.h"
#include "scoreboard.h"
#include "statsd-format.h"

/* What was sent last for one service or backend: the next send's deltas
 * start there. */
struct last {
        uint64_t requests, errors;
        uint64_t codes[LBD_TABLE_STATUS_CODES]; /* services only */
        struct lbd_hist_counts total;
};

struct lbd_statsd {
        sd_event *event;
        struct lbd_table *table;
        const struct lbd_arbiter *arbiter;
        sd_event_source *timer;
        int fd;
        char *target;   /* host:port sent to, NULL: off */
        char *prefix;   /* "lbd." or "" */
        char *tags;     /* "#k:v,..." or NULL */
        unsigned interval;
        struct lbd_config *config; /* the copy the names come from */
        GHashTable *last;    /* "service" or "service\naddress" -> struct last */
        struct last daemon;  /* the sums over services */
        uint64_t send_errors;
        bool logged;         /* a failure to send to target was logged */
};

struct lbd_statsd *lbd_statsd_new(sd_event *event, struct lbd_table *table,
                                  const struct lbd_arbiter *arbiter) {
        struct lbd_statsd *s = g_new0(struct lbd_statsd, 1);
        s->event = event;
        s->table = table;
        s->arbiter = arbiter;
        s->fd = -1;
        s->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return s;
}

uint64_t lbd_statsd_send_errors(const struct lbd_statsd *s) {
        return s ? s->send_errors : 0;
}

/* ---- reading the table ------------------------------------------------ */

struct reading {
        uint64_t requests, errors;
        struct lbd_hist_counts total;
};

static void read_traffic(const struct lbd_traffic_counts *c, struct reading *r) {
        r->requests = 0;
        for (unsigned i = 0; i < LBD_STATUS_CLASSES; i++)
                r->requests += c->responses[i];
        r->errors = c->connect_errors + c->response_errors;
        r->total = c->total;
}

static struct last *last_of(struct lbd_statsd *s, GHashTable *next, const char *key) {
        gpointer k, v;
        if (g_hash_table_steal_extended(s->last, key, &k, &v)) {
                g_hash_table_insert(next, k, v);
                return v;
        }
        struct last *l = g_new0(struct last, 1);
        g_hash_table_insert(next, g_strdup(key), l);
        return l;
}

/* Deltas of one reading against l, into the batch, and l moved on. A
 * counter that went back (a slot reused for a backend of the same name)
 * sends nothing and starts again from there. */
static void send_reading(struct lbd_statsd_batch *b, const char *base, const struct reading *r,
                         struct last *l, bool quiet) {
        char name[LBD_STATSD_NAME_MAX];
        if (!quiet) {
                snprintf(name, sizeof name, "%s.requests", base);
                lbd_statsd_counter(b, name, r->requests >= l->requests ? r->requests - l->requests
                                                                       : 0);
                snprintf(name, sizeof name, "%s.errors", base);
                lbd_statsd_counter(b, name, r->errors >= l->errors ? r->errors - l->errors : 0);
                snprintf(name, sizeof name, "%s.request.duration", base);
                lbd_statsd_timer(b, name, &r->total, &l->total);
        }
        l->requests = r->requests;
        l->errors = r->errors;
        l->total = r->total;
}

static void send_codes(struct lbd_statsd_batch *b, const char *base, const uint64_t *codes,
                       uint64_t *last, bool quiet) {
        char name[LBD_STATSD_NAME_MAX];
        for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++) {
                if (!quiet && codes[c] > last[c]) {
                        snprintf(name, sizeof name, "%s.request.status.%u", base, c + 100);
                        lbd_statsd_counter(b, name, codes[c] - last[c]);
                }
                last[c] = codes[c];
        }
}

struct worker_sum {
        uint64_t active;
};

static void add_worker(void *userdata, pid_t pid, const struct lbd_worker_slot *slot) {
        (void)pid;
        struct worker_sum *w = userdata;
        w->active += atomic_load_explicit(&slot->connections, memory_order_relaxed);
}

/* One pass over the table: the batch to send (quiet: only move the last
 * values on, for a sender that starts). */
static void collect(struct lbd_statsd *s, struct lbd_statsd_batch *b, bool quiet) {
        g_autoptr(GHashTable) next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                           g_free);
        struct reading all = { 0 };
        uint64_t all_codes[LBD_TABLE_STATUS_CODES] = { 0 };
        char base[LBD_STATSD_NAME_MAX - 40], addr[96], svc_name[80];
        for (guint i = 0; s->config && i < s->config->services->len; i++) {
                const struct lbd_service_config *svc = s->config->services->pdata[i];
                struct lbd_traffic_counts tc = { 0 };
                uint64_t active = 0;
                if (lbd_table_service_stats(s->table, svc->name, &active, NULL, &tc) < 0)
                        continue;
                struct reading r;
                read_traffic(&tc, &r);
                all.requests += r.requests;
                all.errors += r.errors;
                lbd_hist_counts_add(&all.total, &r.total);
                lbd_statsd_sanitize(svc_name, sizeof svc_name, svc->name);
                snprintf(base, sizeof base, "%sservice.%s", s->prefix, svc_name);
                struct last *l = last_of(s, next, svc->name);
                send_reading(b, base, &r, l, quiet);
                uint64_t codes[LBD_TABLE_STATUS_CODES];
                if (lbd_table_service_codes(s->table, svc->name, codes) == 0) {
                        for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++)
                                all_codes[c] += codes[c];
                        send_codes(b, base, codes, l->codes, quiet);
                }
                char name[LBD_STATSD_NAME_MAX];
                if (!quiet) {
                        snprintf(name, sizeof name, "%s.active_connections", base);
                        lbd_statsd_gauge(b, name, active);
                }
                for (guint k = 0; k < svc->backends->len; k++) {
                        const struct lbd_backend_config *bc =
                                &g_array_index(svc->backends, struct lbd_backend_config, k);
                        struct lbd_backend_stats bs;
                        if (lbd_table_backend_stats(s->table, svc->name, bc->address.text, &bs) <
                            0)
                                continue;
                        read_traffic(&bs.traffic, &r);
                        lbd_statsd_sanitize(addr, sizeof addr, bc->address.text);
                        snprintf(base, sizeof base, "%sbackend.%s.%s", s->prefix, svc_name, addr);
                        g_autofree char *key = g_strdup_printf("%s\n%s", svc->name,
                                                               bc->address.text);
                        send_reading(b, base, &r, last_of(s, next, key), quiet);
                        if (!quiet) {
                                snprintf(name, sizeof name, "%s.active_connections", base);
                                lbd_statsd_gauge(b, name, bs.active);
                        }
                }
        }
        /* The daemon's own: Gunicorn's names. */
        char name[LBD_STATSD_NAME_MAX];
        if (!quiet) {
                snprintf(name, sizeof name, "%srequests", s->prefix);
                lbd_statsd_counter(b, name,
                                   all.requests >= s->daemon.requests
                                           ? all.requests - s->daemon.requests
                                           : 0);
                snprintf(name, sizeof name, "%srequest.duration", s->prefix);
                lbd_statsd_timer(b, name, &all.total, &s->daemon.total);
                for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++)
                        if (all_codes[c] > s->daemon.codes[c]) {
                                snprintf(name, sizeof name, "%srequest.status.%u", s->prefix,
                                         c + 100);
                                lbd_statsd_counter(b, name, all_codes[c] - s->daemon.codes[c]);
                        }
                struct worker_sum w = { 0 };
                if (s->arbiter)
                        lbd_arbiter_foreach_worker(s->arbiter, add_worker, &w);
                snprintf(name, sizeof name, "%sworkers", s->prefix);
                lbd_statsd_gauge(b, name, s->arbiter ? lbd_arbiter_get_workers(s->arbiter) : 0);
                snprintf(name, sizeof name, "%sactive_connections", s->prefix);
                lbd_statsd_gauge(b, name, w.active);
        }
        s->daemon.requests = all.requests;
        s->daemon.total = all.total;
        memcpy(s->daemon.codes, all_codes, sizeof all_codes);
        /* Services and backends gone are forgotten. */
        g_hash_table_unref(s->last);
        s->last = g_steal_pointer(&next);
}

/* ---- sending ------------------------------------------------------------ */

/* Counted always, logged once per target: a statsd server that is not
 * there makes every other send fail (UDP reports the ICMP refusal of one
 * packet on the next), and the log must not fill with it. */
static void send_failed(struct lbd_statsd *s, int err) {
        s->send_errors++;
        if (s->logged)
                return;
        s->logged = true;
        log_warning_errno(err, "statsd: cannot send to %s: %m; further failures are counted "
                               "(GetStatistics: StatsdSendErrors), not logged",
                          s->target);
}

void lbd_statsd_send(struct lbd_statsd *s) {
        if (!s || s->fd < 0)
                return;
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, s->tags);
        collect(s, &b, false);
        for (guint i = 0; i < b.packets->len; i++) {
                GString *p = g_ptr_array_index(b.packets, i);
                if (send(s->fd, p->str, p->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                        send_failed(s, -errno);
        }
        lbd_statsd_batch_clear(&b);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        struct lbd_statsd *s = userdata;
        lbd_statsd_send(s);
        sd_event_source_set_time(source, usec + (uint64_t)s->interval * 1000000u);
        return 0;
}

static void stop(struct lbd_statsd *s) {
        s->timer = sd_event_source_disable_unref(s->timer);
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
        g_clear_pointer(&s->target, g_free);
        s->logged = false;
}

/* A connected UDP socket to target: 0, or -errno (logged). */
static int start(struct lbd_statsd *s, const char *target) {
        struct lbd_address a;
        _cleanup_free_ char *why = NULL;
        int r = lbd_address_parse(target, &a, &why);
        if (r < 0) {
                log_error("statsd: '%s': %s", target, why ? why : "out of memory");
                return r;
        }
        int fd = socket(a.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "statsd: cannot open a UDP socket: %m");
        if (connect(fd, (const struct sockaddr *)&a.sa, a.len) < 0) {
                r = -errno;
                close(fd);
                return log_error_errno(r, "statsd: cannot address %s: %m", target);
        }
        uint64_t now;
        r = sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(s->event, &s->timer, CLOCK_MONOTONIC,
                                      now + (uint64_t)s->interval * 1000000u, 0, on_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_ON);
        if (r < 0) {
                close(fd);
                s->timer = sd_event_source_disable_unref(s->timer);
                return log_error_errno(r, "statsd: cannot add its timer: %m");
        }
        s->fd = fd;
        s->target = g_strdup(target);
        log_info("statsd: sending to %s every %u s", target, s->interval);
        return 0;
}

void lbd_statsd_apply(struct lbd_statsd *s, const struct lbd_config *config) {
        const struct lbd_daemon_config *d = &config->daemon;
        g_clear_pointer(&s->config, lbd_config_free);
        s->config = lbd_config_copy(config);
        g_free(s->prefix);
        s->prefix = d->statsd_prefix && *d->statsd_prefix ? g_strconcat(d->statsd_prefix, ".", NULL)
                                                          : g_strdup("");
        g_free(s->tags);
        s->tags = d->dogstatsd_tags ? g_strconcat("#", d->dogstatsd_tags, NULL) : NULL;
        bool same = d->statsd_host && s->target && strcmp(d->statsd_host, s->target) == 0 &&
                    d->statsd_interval == s->interval;
        if (same)
                return;
        stop(s);
        s->interval = d->statsd_interval ? d->statsd_interval : 1;
        if (!d->statsd_host)
                return;
        if (start(s, d->statsd_host) < 0)
                return;
        /* From now on: what was counted before is not this sender's. */
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, NULL);
        collect(s, &b, true);
        lbd_statsd_batch_clear(&b);
}

struct lbd_statsd *lbd_statsd_free(struct lbd_statsd *s) {
        if (!s)
                return NULL;
        stop(s);
        g_clear_pointer(&s->config, lbd_config_free);
        g_free(s->prefix);
        g_free(s->tags);
        g_hash_table_unref(s->last);
        g_free(s);
        return NULL;
}
