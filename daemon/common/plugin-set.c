/* SPDX-License-Identifier: MIT */
/*
 * A loaded plugin set (plugin-set.h): what every layer looks plugins up in,
 * and its end (fini(), dlclose()). The loader (control/plugin-loader.c)
 * fills it.
 */
#include "plugin-set.h"

#include <dlfcn.h>
#include <string.h>

#include "plugin-set-private.h"

const char *lbd_plugin_kind_to_string(enum lbd_plugin_kind kind) {
        switch (kind) {
        case LBD_PLUGIN_KIND_WORKER:
                return "worker";
        case LBD_PLUGIN_KIND_POLICY:
                return "policy";
        case LBD_PLUGIN_KIND_NETWORK:
                return "network";
        }
        return "unknown";
}

/* ---- the set ------------------------------------------------------------ */

void lbd_plugin_refusal_free(gpointer p) {
        struct lbd_plugin_refusal *r = p;
        g_free(r->path);
        g_free(r->reason);
        g_free(r->name);
        g_free(r);
}

/* Undo one plugin: fini() if init() ran, then close it. */
void lbd_plugin_entry_free(struct plugin_entry *e) {
        if (e->initialized && e->pub.desc->fini)
                e->pub.desc->fini(e->pub.data);
        if (e->pub.handle)
                dlclose(e->pub.handle);
        g_free(e->pub.path);
        g_free(e->init_error);
        g_free(e);
}

void lbd_plugin_set_free(struct lbd_plugin_set *set) {
        if (!set)
                return;
        g_ptr_array_unref(set->sorted);
        /* fini() in reverse load order: a plugin loaded later may have been
         * set up against one loaded earlier. */
        for (guint i = set->loaded->len; i > 0; i--)
                lbd_plugin_entry_free(set->loaded->pdata[i - 1]);
        g_ptr_array_unref(set->loaded);
        g_ptr_array_unref(set->refusals);
        g_free(set);
}

size_t lbd_plugin_set_size(const struct lbd_plugin_set *set) {
        return set ? set->sorted->len : 0;
}

const struct lbd_plugin *lbd_plugin_set_get(const struct lbd_plugin_set *set, size_t i) {
        if (!set || i >= set->sorted->len)
                return NULL;
        return &((struct plugin_entry *)set->sorted->pdata[i])->pub;
}

struct plugin_entry *lbd_plugin_set_find_name(const struct lbd_plugin_set *set, const char *name) {
        for (guint i = 0; i < set->loaded->len; i++) {
                struct plugin_entry *e = set->loaded->pdata[i];
                if (strcmp(e->pub.desc->name, name) == 0)
                        return e;
        }
        return NULL;
}

const struct lbd_plugin *lbd_plugin_set_find(const struct lbd_plugin_set *set,
                                             enum lbd_plugin_kind kind, const char *name) {
        if (!set || !name)
                return NULL;
        struct plugin_entry *e = lbd_plugin_set_find_name(set, name);
        return e && e->pub.desc->kind == (uint32_t)kind ? &e->pub : NULL;
}

char *lbd_plugin_set_names(const struct lbd_plugin_set *set, enum lbd_plugin_kind kind) {
        g_autoptr(GString) s = g_string_new(NULL);
        for (size_t i = 0; i < lbd_plugin_set_size(set); i++) {
                const struct lbd_plugin *p = lbd_plugin_set_get(set, i);
                if (p->desc->kind == (uint32_t)kind)
                        g_string_append_printf(s, "%s%s", s->len ? ", " : "", p->desc->name);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

const struct lbd_plugin_refusal *lbd_plugin_set_find_refusal(const struct lbd_plugin_set *set,
                                                             enum lbd_plugin_kind kind,
                                                             const char *name) {
        for (size_t i = 0; set && name && i < set->refusals->len; i++) {
                const struct lbd_plugin_refusal *r = set->refusals->pdata[i];
                if (r->name && r->kind == kind && strcmp(r->name, name) == 0)
                        return r;
        }
        return NULL;
}

size_t lbd_plugin_set_n_refusals(const struct lbd_plugin_set *set) {
        return set ? set->refusals->len : 0;
}

const struct lbd_plugin_refusal *lbd_plugin_set_get_refusal(const struct lbd_plugin_set *set,
                                                            size_t i) {
        if (!set || i >= set->refusals->len)
                return NULL;
        return set->refusals->pdata[i];
}

