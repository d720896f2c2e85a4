/* SPDX-License-Identifier: MIT */
/*
 * "SETTING VALUE" pairs of the command line into a D-Bus a{sv}: each setting
 * names its D-Bus key, type and range, so a bad value is a usage error here,
 * saying what was wrong, before anything is sent. Names may be prefixes and
 * use '-' or '_' ("max_fails" = "max-fails").
 */
#pragma once

#include "lbclient.h"

enum setting_type {
        SETTING_STRING,
        SETTING_UINT,   /* u, from min to max */
        SETTING_INT64,  /* x, from min to max */
        SETTING_BOOL,   /* b */
        SETTING_STRV,   /* as, comma-separated */
        SETTING_LIST,   /* as, one element per occurrence */
        SETTING_DICT,   /* an entry of the a{ss} named by key ("BondOptions") */
};

struct setting {
        const char *name; /* on the command line */
        const char *key;  /* in the a{sv} */
        enum setting_type type;
        uint32_t min, max;
        const char *const *choices; /* NULL-terminated, or NULL for any */
};

/* Append a{sv} from argc/argv (pairs). what names the command for messages. */
int settings_append(sd_bus_message *m, const char *what, const struct setting *s, size_t n,
                    int argc, char **argv);
/* Only check argc/argv (pairs): a usage error before anything is sent. */
int settings_check(const char *what, const struct setting *s, size_t n, int argc, char **argv);
/* Look up one setting name; -1 after a usage error. */
int settings_find(const char *what, const struct setting *s, size_t n, const char *name);
