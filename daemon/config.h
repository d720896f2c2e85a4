/* SPDX-License-Identifier: MIT */
/*
 * The configuration: a GKeyFile (/etc/lbd/lbd.conf) with drop-ins
 * (/etc/lbd/conf.d/\*.conf) merged over it in lexical order, key by key: a
 * drop-in that sets [daemon] workers= changes only that key, and a
 * [service NAME] group in a drop-in adds to or overrides that service's keys.
 * Without a main file, an embedded default takes its place (one http service
 * "default" on 127.0.0.1:8080, round_robin over 127.0.0.1:8001-8003).
 *
 * Parsing validates everything it can without the rest of the daemon; every
 * error names the file, the group, the key and what was expected. What needs
 * the loaded plugins (does worker-model name a worker plugin?) is checked by
 * the caller, which can name the place with lbd_config_origin().
 *
 * The format, beyond GKeyFile's:
 *  - a '#' at the start of a value or after whitespace starts a comment that
 *    runs to the end of the line ("workers=auto  # 2 * cores + 1"), so a value
 *    cannot contain " #"; surrounding whitespace is dropped;
 *  - lists are ';'-separated; items are trimmed and empty items skipped;
 *  - unknown groups and keys are errors (with a "did you mean" for a close
 *    spelling); integers are decimal digits only, range-checked;
 *  - a drop-in's list value replaces the earlier list (backends= in a drop-in
 *    replaces all of the service's backends);
 *  - checks that need the whole merged configuration (every service has
 *    listen=; no address is listened on by two services) run after merging;
 *  - the state file lbd writes (state.h) is merged last, the same way, and
 *    alone may say [service NAME] removed=true (lbd_config_load_state()).
 *
 * Error messages read "FILE: [GROUP] KEY: what was wrong; expected WHAT";
 * group-level errors leave out KEY; GKeyFile syntax errors read
 * "FILE: line N: GLib's message"; files that cannot be read
 * "FILE: cannot read: reason" (LBD_CONFIG_ERROR_IO).
 *
 * Every string in these structs is g_malloc()ed and owned by the config.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "address.h"

#define LBD_CONFIG_DEFAULT_PATH "/etc/lbd/lbd.conf"
#define LBD_CONFIG_DEFAULT_DROPIN_DIR "/etc/lbd/conf.d"
/* Shown in messages in place of a file name for the embedded default. */
#define LBD_CONFIG_BUILTIN_NAME "<built-in default>"

enum lbd_service_mode {
        LBD_SERVICE_MODE_HTTP,
        LBD_SERVICE_MODE_TCP,
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
        char *access_log;      /* path, "journal" or "off"; default journal */
        char *error_log;       /* path or "journal"; default journal */
        char *statsd_host;     /* canonical host:port or NULL ("off", unset) */
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

/* Load main_path (or the embedded default when it does not exist and
 * main_path_required is false), then every *.conf in dropin_dir (may be NULL
 * or missing) in lexical order. On error returns NULL and sets *error with a
 * message naming file, group, key and what was expected.
 *
 * main_path NULL means LBD_CONFIG_DEFAULT_PATH. Only a main file that does
 * not exist is replaced by the default: one that exists but cannot be read
 * is an error, and so is a drop-in that is a dangling symlink. Drop-ins
 * whose names start with '.', directories and files not ending in ".conf"
 * are ignored. */
struct lbd_config *lbd_config_load(const char *main_path, bool main_path_required,
                                   const char *dropin_dir, GError **error);

/* Parse one configuration held in memory (tests, the embedded default).
 * source_name is what messages call it. */
struct lbd_config *lbd_config_load_from_data(const char *data, const char *source_name,
                                             GError **error);

/* Merge the state file at path (state.h) over base, as one more drop-in
 * after all of base's sources: the same key-by-key merge and the same
 * checks and messages, plus one group form only this file may use,
 *
 *     [service NAME]
 *     removed=true
 *
 * alone in its group: the service is no longer there (a service the files
 * no longer have either is not an error). Returns 1 with *ret a new
 * configuration (base's sources followed by path), 0 with *ret NULL when
 * path does not exist, or a negative errno with *error set
 * (LBD_CONFIG_ERROR_IO when path cannot be read, LBD_CONFIG_ERROR_INVALID
 * when it does not parse or the merged result is invalid). */
int lbd_config_load_state(const struct lbd_config *base, const char *path,
                          struct lbd_config **ret, GError **error);

/* A deep copy (sources, origins and base included). */
struct lbd_config *lbd_config_copy(const struct lbd_config *config);

/* The configuration as a GKeyFile that the loader reads back to the same
 * values, one canonical text per value (lists ';'-joined, backend and
 * health-check options only where they differ from the defaults, workers=auto
 * for 0, statsd-host=off for none).
 *
 * base NULL: every [daemon] key and every service, whole: parsing the text
 * alone gives config back.
 * base given: only what differs from base, for merging over it with
 * lbd_config_load_state(): each key whose text differs, services base lacks
 * whole, and [service NAME] removed=true for services of base that config
 * lacks. Merging the result over base gives config back (service order
 * aside: a service removed and added again comes back in base's place). */
GKeyFile *lbd_config_to_keyfile(const struct lbd_config *config, const struct lbd_config *base);

void lbd_config_free(struct lbd_config *config);
/* g_autoptr() needs a type name without "struct". */
typedef struct lbd_config lbd_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lbd_config, lbd_config_free)

/* The file that set group/key last, or NULL if it was left at its default.
 * group is as written in the file: "daemon", "service web". */
const char *lbd_config_origin(const struct lbd_config *config, const char *group,
                              const char *key);

const struct lbd_service_config *lbd_config_find_service(const struct lbd_config *config,
                                                         const char *name);

/* The resolved worker count (auto → 2 * online CPUs + 1, at most
 * LBD_WORKERS_MAX). */
unsigned lbd_config_worker_count(const struct lbd_config *config);

const char *lbd_service_mode_to_string(enum lbd_service_mode mode);

/* Name syntax shared with the D-Bus methods that take the same names, so
 * that what AddService or SetPolicy accepts is what the file accepts.
 * A plugin name is [a-z][a-z0-9_]{0,31}; a service name is
 * [A-Za-z0-9_-]{1,64} (it becomes a D-Bus path element and a log field). */
bool lbd_plugin_name_is_valid(const char *name);
bool lbd_service_name_is_valid(const char *name);

/* Limits of the values the configuration accepts, for the same reason. */
#define LBD_WORKERS_MAX 1024u
#define LBD_THREADS_MAX 1024u
#define LBD_WORKER_CONNECTIONS_MAX 1000000u
#define LBD_BACKEND_WEIGHT_MAX 1000u       /* weight is 1..this */
#define LBD_BACKEND_MAX_FAILS_MAX 1000u    /* 0..this */
#define LBD_BACKEND_FAIL_TIMEOUT_MAX 86400u /* 1..this seconds */
#define LBD_BACKEND_MAX_CONNS_MAX 1000000u /* 0..this */
#define LBD_BACKEND_SLOW_START_MAX 3600u   /* 0..this seconds */
#define LBD_PROXY_CONNECT_TIMEOUT_MAX 3600u /* 1..this seconds */
#define LBD_PROXY_READ_TIMEOUT_MAX 86400u  /* 1..this seconds */
#define LBD_PROXY_HOST_MAX 100u            /* bytes of proxy-host= */
#define LBD_EXTRA_GROUPS_MAX 32u           /* names in extra-groups= */

/* "http" or "tcp" → the mode; -EINVAL for anything else. */
int lbd_service_mode_from_string(const char *s);
/* "off", "tcp", "http". */
const char *lbd_health_check_type_to_string(enum lbd_health_check_type type);

/* The text of the embedded default, for `lbd --dump-default-config`. */
extern const char lbd_config_builtin_default[];

GQuark lbd_config_error_quark(void);
#define LBD_CONFIG_ERROR lbd_config_error_quark()
enum { LBD_CONFIG_ERROR_INVALID = 1, LBD_CONFIG_ERROR_IO = 2 };
