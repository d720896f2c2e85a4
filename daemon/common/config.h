/* SPDX-License-Identifier: MIT */
/*
 * The configuration as data: what every part of lbd reads (the structs
 * below), its defaults, lifetime, copies and lookups, and the limits of
 * its values. Reading it from files and writing it back is control/'s
 * (config-files.h, which also says the format).
 *
 * Every string in these structs is g_malloc()ed and owned by the config.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "address.h"
#include "lbd-bus-api.h"

#define LBD_CONFIG_DEFAULT_PATH "/etc/lbd/lbd.conf"
#define LBD_CONFIG_DEFAULT_DROPIN_DIR "/etc/lbd/conf.d"
/* Shown in messages in place of a file name for the embedded default. */
#define LBD_CONFIG_BUILTIN_NAME "<built-in default>"

enum lbd_service_mode {
        LBD_SERVICE_MODE_HTTP,
        LBD_SERVICE_MODE_TCP,
};

enum lbd_access_log_format {
        LBD_ACCESS_LOG_COMBINED, /* nginx's combined, plus upstream fields */
        LBD_ACCESS_LOG_JSON,     /* one JSON object per line */
};

enum lbd_health_check_type {
        LBD_HEALTH_CHECK_NONE,
        LBD_HEALTH_CHECK_TCP,
        LBD_HEALTH_CHECK_HTTP,
};

struct lbd_backend_config {
        struct lbd_address address;
        unsigned weight;       /* 1..1000, default 1 */
        unsigned max_fails;    /* 0..1000, default 1; 0 disables passive health */
        unsigned fail_timeout; /* seconds, 1..86400, default 10 */
        unsigned max_conns;    /* 0..1000000, 0 = unlimited */
        unsigned slow_start;   /* seconds, 0..3600, 0 = off */
        bool backup;
        bool down;             /* administratively disabled: no traffic at all
                                * (nginx's "down"; D-Bus Disable()) */
        bool drain;            /* no new connections, open ones finish
                                * (HAProxy's drain; D-Bus Drain()) */
        /* Who added it, when not the configuration files: a client's tag
         * (AddBackend's Origin, "etcd:/lbd/" for lbd-etcd-sync), so that
         * it can tell its backends from those configured locally. "" for
         * none. Kept with the backend, saved with it in the state file. */
        char origin[LBD_BACKEND_ORIGIN_MAX + 1];
};

struct lbd_health_check_config {
        enum lbd_health_check_type type;
        char *path;            /* http only (NULL otherwise), starts with '/',
                                * visible ASCII, at most 1024 bytes */
        unsigned expect_min;   /* http status range 100..599, default 200-399 */
        unsigned expect_max;
        unsigned interval;     /* seconds, 1..3600, default 2 */
        unsigned rise;         /* 1..100, default 2 */
        unsigned fall;         /* 1..100, default 3 */
        unsigned timeout;      /* seconds, 1..3600, default 1 */
};

struct lbd_service_config {
        char *name;
        GArray *listen;        /* of struct lbd_address, at least one */
        enum lbd_service_mode mode;
        char *policy;          /* a policy plugin name, default round_robin */
        unsigned proxy_connect_timeout; /* seconds, 1..3600, default 5 */
        unsigned proxy_read_timeout;    /* seconds, 1..86400, default 90 */
        GArray *backends;      /* of struct lbd_backend_config, may be empty */
        struct lbd_health_check_config health_check;
        /* http: the Host sent with a request that has none (HTTP/1.0);
         * NULL: the backend's address (a unix socket's: localhost). */
        char *proxy_host;
};

struct lbd_daemon_config {
        unsigned workers;      /* 0 = auto: 2 * cores + 1; else 1..1024 */
        char *worker_model;    /* a worker plugin name, default event */
        unsigned worker_connections; /* 1..1000000, default 1000 */
        unsigned threads;      /* 1..1024, default 4 */
        unsigned timeout;      /* heartbeat timeout, seconds, 1..86400, default 30 */
        unsigned graceful_timeout; /* seconds, 0..86400, default 30 */
        unsigned keepalive;    /* seconds, 0..3600 (0 = no keep-alive), default 5 */
        unsigned max_requests; /* 0..1e9, 0 = never recycle */
        unsigned max_requests_jitter; /* 0..1e9 (the sum fits 32 bits) */
        char *user;            /* workers drop to this user, default lbd */
        char *group;           /* ...and this group; NULL: the user's own */
        /* Supplementary groups of the workers (NULL-terminated, may be
         * empty), e.g. www-data to reach a Gunicorn socket made -m 007. */
        char **extra_groups;
        /* An absolute path, a file name (in the logs directory), "journal"
         * or "off"; default access.log. */
        char *access_log;
        /* A file access log is written in blocks (nginx's buffer= and
         * flush=): bytes, 0..LBD_ACCESS_LOG_BUFFER_MAX (0: a write per
         * line), default 64 KiB; and seconds a line may wait, 1..60,
         * default 1. */
        unsigned access_log_buffer;
        unsigned access_log_flush;
        enum lbd_access_log_format access_log_format; /* default combined */
        char *error_log;       /* as access_log, without "off"; default journal */
        char *statsd_host;     /* canonical host:port or NULL ("off", unset) */
        /* Names start with it and a dot: letters, digits, _ - and inner
         * dots, at most 64; empty: no prefix. Default "lbd". */
        char *statsd_prefix;
        /* DogStatsD tags sent with every metric, "k:v,k2:v2", or NULL. */
        char *dogstatsd_tags;
        unsigned statsd_interval; /* seconds between sends, 1..3600, default 1 */
        bool confine_workers;  /* Landlock + seccomp in the workers, default yes */
        /* [admin] listen=: where /metrics and the status page are served
         * (read-only), a canonical address, or NULL (off, the default). */
        char *admin_listen;
};

struct lbd_config {
        struct lbd_daemon_config daemon;
        GPtrArray *services;   /* of struct lbd_service_config *, in order of
                                * first appearance */
        GPtrArray *sources;    /* of char *: the files read, in order (the
                                * embedded default appears as
                                * LBD_CONFIG_BUILTIN_NAME) */
        GHashTable *origins;   /* "group\nkey" -> file that set it last */
        /* Set on a configuration that lbd_state_load() made: the
         * configuration files alone, without the state file, owned. What
         * lbd_state_save() writes the difference from. NULL otherwise. */
        struct lbd_config *base;
};

/* A deep copy (sources, origins and base included). */
struct lbd_config *lbd_config_copy(const struct lbd_config *config);

/* An empty configuration with every default, a service named name with
 * its defaults, a backend's and a health check's defaults (what a key
 * left out means). */
struct lbd_config *lbd_config_new(void);
struct lbd_service_config *lbd_service_config_new(const char *name);
void lbd_backend_config_init(struct lbd_backend_config *b);
/* true when origin is a valid origin tag (see LBD_BACKEND_ORIGIN_MAX). */
bool lbd_backend_origin_valid(const char *origin);
void lbd_health_check_config_init(struct lbd_health_check_config *h);

void lbd_config_free(struct lbd_config *config);
/* g_autoptr() needs a type name without "struct". */
typedef struct lbd_config lbd_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lbd_config, lbd_config_free)

/* The file that set group/key last, or NULL if it was left at its default.
 * group is as written in the file: "daemon", "service web". */
const char *lbd_config_origin(const struct lbd_config *config, const char *group,
                              const char *key);
/* The key of config->origins for group/key (g_free). */
char *lbd_config_origin_key(const char *group, const char *key);

const struct lbd_service_config *lbd_config_find_service(const struct lbd_config *config,
                                                         const char *name);

/* The resolved worker count (auto → 2 * online CPUs + 1, at most
 * LBD_WORKERS_MAX). */
unsigned lbd_config_worker_count(const struct lbd_config *config);

const char *lbd_service_mode_to_string(enum lbd_service_mode mode);

/* Limits of the values the configuration accepts, shared with the D-Bus
 * methods that set the same values. */
#define LBD_WORKERS_MAX 1024u
#define LBD_ACCESS_LOG_BUFFER_MAX (1024u * 1024u)
#define LBD_THREADS_MAX 1024u
#define LBD_WORKER_CONNECTIONS_MAX 1000000u
/* LBD_BACKEND_*_MAX: the backend limits are the D-Bus API's
 * (lbd-bus-api.h), which clients check too. */
#define LBD_PROXY_CONNECT_TIMEOUT_MAX 3600u /* 1..this seconds */
#define LBD_PROXY_READ_TIMEOUT_MAX 86400u  /* 1..this seconds */
#define LBD_PROXY_HOST_MAX 100u            /* bytes of proxy-host= */
#define LBD_STATSD_PREFIX_MAX 64u          /* bytes of statsd-prefix= */
#define LBD_STATSD_TAGS_MAX 200u           /* bytes of dogstatsd-tags= */
#define LBD_EXTRA_GROUPS_MAX 32u           /* names in extra-groups= */

/* "http" or "tcp" → the mode; -EINVAL for anything else. */
int lbd_service_mode_from_string(const char *s);
/* "off", "tcp", "http". */
const char *lbd_health_check_type_to_string(enum lbd_health_check_type type);
