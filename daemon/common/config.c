/* SPDX-License-Identifier: MIT */
/*
 * The configuration as data (config.h): its defaults, its lifetime, copies
 * and lookups. Reading and writing files is control/'s (config-files.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const char *lbd_service_mode_to_string(enum lbd_service_mode mode) {
        switch (mode) {
        case LBD_SERVICE_MODE_HTTP:
                return "http";
        case LBD_SERVICE_MODE_TCP:
                return "tcp";
        }
        return "unknown";
}

int lbd_service_mode_from_string(const char *s) {
        if (s && strcmp(s, "http") == 0)
                return LBD_SERVICE_MODE_HTTP;
        if (s && strcmp(s, "tcp") == 0)
                return LBD_SERVICE_MODE_TCP;
        return -EINVAL;
}

const char *lbd_health_check_type_to_string(enum lbd_health_check_type type) {
        switch (type) {
        case LBD_HEALTH_CHECK_NONE:
                return "off";
        case LBD_HEALTH_CHECK_TCP:
                return "tcp";
        case LBD_HEALTH_CHECK_HTTP:
                return "http";
        }
        return "unknown";
}

/* ---- defaults and lifetime ------------------------------------------------ */

void lbd_health_check_config_init(struct lbd_health_check_config *h) {
        *h = (struct lbd_health_check_config){
                .type = LBD_HEALTH_CHECK_NONE,
                .expect_min = 200,
                .expect_max = 399,
                .interval = 2,
                .rise = 2,
                .fall = 3,
                .timeout = 1,
        };
}

void lbd_backend_config_init(struct lbd_backend_config *b) {
        *b = (struct lbd_backend_config){
                .weight = 1,
                .max_fails = 1,
                .fail_timeout = 10,
        };
}

bool lbd_backend_origin_valid(const char *origin) {
        static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789._:/@-";
        size_t len = strlen(origin);
        return len >= 1 && len <= LBD_BACKEND_ORIGIN_MAX && strspn(origin, allowed) == len;
}

static void service_free(struct lbd_service_config *s) {
        if (!s)
                return;
        g_free(s->name);
        g_free(s->policy);
        g_free(s->health_check.path);
        g_free(s->proxy_host);
        g_clear_pointer(&s->listen, g_array_unref);
        g_clear_pointer(&s->backends, g_array_unref);
        g_free(s);
}

struct lbd_service_config *lbd_service_config_new(const char *name) {
        struct lbd_service_config *s = g_new0(struct lbd_service_config, 1);
        s->name = g_strdup(name);
        s->listen = g_array_new(false, true, sizeof(struct lbd_address));
        s->mode = LBD_SERVICE_MODE_HTTP;
        s->policy = g_strdup("round_robin");
        s->proxy_connect_timeout = 5;
        s->proxy_read_timeout = 90;
        s->backends = g_array_new(false, true, sizeof(struct lbd_backend_config));
        lbd_health_check_config_init(&s->health_check);
        return s;
}

struct lbd_config *lbd_config_new(void) {
        struct lbd_config *c = g_new0(struct lbd_config, 1);
        c->daemon = (struct lbd_daemon_config){
                .workers = 0,
                .worker_model = g_strdup("event"),
                .worker_connections = 1000,
                .threads = 4,
                .timeout = 30,
                .graceful_timeout = 30,
                .keepalive = 5,
                .access_log_buffer = 64u * 1024u,
                .access_log_flush = 1,
                .max_requests = 0,
                .max_requests_jitter = 0,
                .user = g_strdup("lbd"),
                .group = NULL,
                .extra_groups = g_new0(char *, 1),
                .access_log = g_strdup("access.log"),
                .error_log = g_strdup("journal"),
                .statsd_host = NULL,
                .statsd_prefix = g_strdup("lbd"),
                .dogstatsd_tags = NULL,
                .statsd_interval = 1,
                .confine_workers = true,
        };
        c->services = g_ptr_array_new_with_free_func((GDestroyNotify)service_free);
        c->sources = g_ptr_array_new_with_free_func(g_free);
        c->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return c;
}

void lbd_config_free(struct lbd_config *config) {
        if (!config)
                return;
        g_free(config->daemon.worker_model);
        g_free(config->daemon.user);
        g_free(config->daemon.group);
        g_strfreev(config->daemon.extra_groups);
        g_free(config->daemon.access_log);
        g_free(config->daemon.error_log);
        g_free(config->daemon.statsd_host);
        g_free(config->daemon.statsd_prefix);
        g_free(config->daemon.dogstatsd_tags);
        g_free(config->daemon.admin_listen);
        g_clear_pointer(&config->services, g_ptr_array_unref);
        g_clear_pointer(&config->sources, g_ptr_array_unref);
        g_clear_pointer(&config->origins, g_hash_table_unref);
        lbd_config_free(config->base);
        g_free(config);
}

char *lbd_config_origin_key(const char *group, const char *key) {
        return g_strconcat(group, "\n", key, NULL);
}

const char *lbd_config_origin(const struct lbd_config *config, const char *group,
                              const char *key) {
        if (!config || !group || !key)
                return NULL;
        g_autofree char *k = lbd_config_origin_key(group, key);
        return g_hash_table_lookup(config->origins, k);
}

const struct lbd_service_config *lbd_config_find_service(const struct lbd_config *config,
                                                         const char *name) {
        if (!config || !name)
                return NULL;
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                if (strcmp(s->name, name) == 0)
                        return s;
        }
        return NULL;
}

unsigned lbd_config_worker_count(const struct lbd_config *config) {
        if (config->daemon.workers > 0)
                return config->daemon.workers;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (cpus < 1)
                cpus = 1;
        /* Gunicorn's rule; capped at what workers= itself accepts. */
        unsigned long n = 2ul * (unsigned long)cpus + 1;
        return (unsigned)MIN(n, (unsigned long)LBD_WORKERS_MAX);
}

/* ---- copying -------------------------------------------------------------- */

static struct lbd_service_config *service_copy(const struct lbd_service_config *s) {
        struct lbd_service_config *c = g_new0(struct lbd_service_config, 1);
        *c = *s;
        c->name = g_strdup(s->name);
        c->policy = g_strdup(s->policy);
        c->listen = g_array_copy(s->listen);
        c->backends = g_array_copy(s->backends);
        c->health_check.path = g_strdup(s->health_check.path);
        c->proxy_host = g_strdup(s->proxy_host);
        return c;
}

struct lbd_config *lbd_config_copy(const struct lbd_config *config) {
        struct lbd_config *c = lbd_config_new();
        struct lbd_daemon_config *d = &c->daemon;

        /* lbd_config_new()'s strings are replaced below. */
        g_free(d->worker_model);
        g_free(d->user);
        g_strfreev(d->extra_groups);
        g_free(d->access_log);
        g_free(d->error_log);
        g_free(d->statsd_prefix);
        *d = config->daemon;
        d->worker_model = g_strdup(config->daemon.worker_model);
        d->user = g_strdup(config->daemon.user);
        d->group = g_strdup(config->daemon.group);
        d->extra_groups = g_strdupv(config->daemon.extra_groups);
        d->access_log = g_strdup(config->daemon.access_log);
        d->error_log = g_strdup(config->daemon.error_log);
        d->statsd_host = g_strdup(config->daemon.statsd_host);
        d->statsd_prefix = g_strdup(config->daemon.statsd_prefix);
        d->dogstatsd_tags = g_strdup(config->daemon.dogstatsd_tags);
        d->admin_listen = g_strdup(config->daemon.admin_listen);

        for (guint i = 0; i < config->services->len; i++)
                g_ptr_array_add(c->services, service_copy(config->services->pdata[i]));
        for (guint i = 0; i < config->sources->len; i++)
                g_ptr_array_add(c->sources, g_strdup(config->sources->pdata[i]));
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, config->origins);
        while (g_hash_table_iter_next(&it, &key, &value))
                g_hash_table_insert(c->origins, g_strdup(key), g_strdup(value));
        if (config->base)
                c->base = lbd_config_copy(config->base);
        return c;
}

