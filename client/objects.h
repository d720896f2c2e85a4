/* SPDX-License-Identifier: MIT */
/*
 * lbd's objects as lbclient reads them: one GetManagedObjects call for every
 * service, backend and link with their properties, and GetAll for the root.
 */
#pragma once

#include <stdbool.h>

#include "lbclient.h"
#include "value.h"

struct objects {
        struct value root;    /* the root object's properties */
        struct value managed; /* path -> interface -> properties */
};

int objects_load(struct lbc *c, struct objects *o);
struct table;
/* What every list and show command does first: select t's columns from -f
 * (for a show, all of them when -f is not given), then load the objects.
 * EXIT_OK, or the exit code of what failed (already reported). */
int objects_load_for_table(struct lbc *c, struct table *t, bool show, struct objects *o);
void objects_clear(struct objects *o);
static inline void objects_clearp(struct objects *o) { objects_clear(o); }
/* The properties of path's interface, or NULL. */
const struct value *objects_props(const struct objects *o, const char *path, const char *iface);
/* A service's properties; prints "no service" and sets *exit_code when missing. */
const struct value *objects_service(const struct objects *o, const char *name, int *exit_code);
const struct value *objects_backend(const struct objects *o, const char *service,
                                    const char *address, int *exit_code);
