/* SPDX-License-Identifier: MIT */
/*
 * Between the configuration's parser (config-parse.c), loader
 * (config-load.c) and writer (config-write.c): the table of keys and the
 * value parsers. Not an interface for anything else.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "config-files.h"

enum key_type {
        KEY_UINT,
        KEY_WORKERS,     /* auto (stored as 0) or a number */
        KEY_PLUGIN_NAME,
        KEY_USER,
        KEY_GROUP,       /* a group name, or empty: the user's primary group */
        KEY_GROUPS,      /* list of group names */
        KEY_PROXY_HOST,  /* host[:port], or empty: none */
        KEY_ACCESS_LOG,
        KEY_ERROR_LOG,
        KEY_STATSD_HOST,
        KEY_ADMIN_LISTEN, /* an address (tcp or unix), or off */
        KEY_METRIC_PREFIX, /* a metric name's start, or empty */
        KEY_TAGS,        /* DogStatsD tags k:v,k2:v2, or empty: none */
        KEY_LISTEN,      /* list */
        KEY_MODE,
        KEY_LOG_FORMAT,  /* combined | json */
        KEY_BOOL,        /* yes | no (and systemd's other spellings) */
        KEY_BACKENDS,    /* list */
        KEY_HEALTH_CHECK,
};

struct key_def {
        const char *name;
        enum key_type type;
        size_t offset;   /* in struct lbd_daemon_config or lbd_service_config */
        unsigned min, max;
        const char *unit;
};

/* NAME=N options of list items: the backend's weight=, the health check's
 * interval=. */
struct uint_option {
        const char *name;
        size_t offset;
        unsigned min, max;
        const char *unit;
};

/* The most keys a group has, for arrays of their names. */
#define CONFIG_KEYS_MAX 32

struct config_keys {
        const struct key_def *keys;
        size_t n;
};
extern const struct config_keys config_daemon_keys;  /* [daemon] */
extern const struct config_keys config_service_keys; /* [service NAME] */
extern const struct config_keys config_admin_keys;   /* [admin], in the daemon's struct */

struct config_uint_options {
        const struct uint_option *options;
        size_t n;
};
/* A backend's weight= ...; a health check's interval= ... */
extern const struct config_uint_options config_backend_options;
extern const struct config_uint_options config_health_check_options;

const struct key_def *config_find_key(const struct key_def *keys, size_t n, const char *name);
bool config_key_is_list(const struct key_def *def);
/* Parses value (or items, for list keys) as def says and stores it in base
 * (a struct lbd_daemon_config or lbd_service_config); false with *detail
 * (g_free) saying what was wrong. */
bool config_apply_value(const struct key_def *def, const char *value, char **items, void *base,
                        char **detail);
/* Cuts a " # comment" off value and trims it (config-files.h). */
void config_strip_inline_comment(char *value);
/* The candidate closest to word, if close enough to be a misspelling; NULL
 * otherwise. config_did_you_mean(): "; did you mean 'X'?" or "" (g_free). */
const char *config_suggest(const char *word, const char *const *candidates, size_t n);
char *config_did_you_mean(const char *word, const char *const *candidates, size_t n);
