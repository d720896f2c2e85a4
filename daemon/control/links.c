/* SPDX-License-Identifier: MIT */
#include "links.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "cleanup.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* One started network plugin of the set in effect. */
struct source {
        const struct lbd_plugin *plugin;
};

struct lbd_links {
        lbd_links_changed_fn changed;
        void *userdata; /* changed's */
        /* What every plugin reports to, for as long as this lives: a
         * plugin of a set a reload replaced keeps running (and reporting,
         * and finishing its calls under way) until that set is freed with
         * the old workers, which may be before or after the next sync. */
        struct lbd_network_host host;
        const struct lbd_plugin_set *set; /* whose plugins are started */
        GPtrArray *sources;               /* struct source *, owned */
        GPtrArray *links;                 /* struct lbd_link *, by name; owned */
        GHashTable *busy;                 /* ifnames with a change under way */
        guint idle;                       /* a refresh is due */
};

static void link_free(struct lbd_link *k) {
        if (!k)
                return;
        g_free(k->name);
        g_free(k->kind);
        g_free(k->mode);
        g_strfreev(k->ports);
        g_free(k->state);
        g_free(k);
}

static const struct lbd_network_ops *network_ops(const struct lbd_plugin *p) {
        const struct lbd_network_ops *ops = p->desc->ops.network;
        /* A plugin without the operations (a placeholder) only validates. */
        if (ops->struct_size < offsetof(struct lbd_network_ops, remove) + sizeof(ops->remove) ||
            !ops->start || !ops->stop || !ops->list || !ops->create || !ops->modify ||
            !ops->activate || !ops->deactivate || !ops->remove)
                return NULL;
        return ops;
}

static gboolean on_idle(gpointer userdata) {
        struct lbd_links *l = userdata;
        l->idle = 0;
        lbd_links_refresh(l);
        return G_SOURCE_REMOVE;
}

static void on_links_changed(const struct lbd_network_host *host) {
        struct lbd_links *l = container_of(host, struct lbd_links, host);
        /* NetworkManager reports in bursts (a profile, its device, its
         * state): one refresh per main-loop iteration. */
        if (!l->idle)
                l->idle = g_idle_add(on_idle, l);
}

/* Forget the sources. stop: stop them too (lbd stopping: their set is
 * still there). After a reload their set may be freed already (its fini()
 * stopped them): they are only forgotten. */
static void drop_sources(struct lbd_links *l, bool stop) {
        /* Removed first: a done callback that runs from stop() may look at
         * the list. */
        while (l->sources->len > 0) {
                struct source *s = g_ptr_array_steal_index(l->sources, l->sources->len - 1);
                if (stop)
                        network_ops(s->plugin)->stop(s->plugin->data);
                g_free(s);
        }
        l->set = NULL;
}

static void start_sources(struct lbd_links *l, const struct lbd_plugin_set *plugins) {
        l->set = plugins;
        for (size_t i = 0; i < lbd_plugin_set_size(plugins); i++) {
                const struct lbd_plugin *p = lbd_plugin_set_get(plugins, i);
                if (p->desc->kind != LBD_PLUGIN_KIND_NETWORK)
                        continue;
                const struct lbd_network_ops *ops = network_ops(p);
                if (!ops) {
                        log_info("network plugin %s cannot make links (it only validates)",
                                 p->desc->name);
                        continue;
                }
                struct source *s = g_new0(struct source, 1);
                s->plugin = p;
                int r = ops->start(p->data, &l->host);
                if (r < 0) {
                        log_warning_errno(r, "network plugin %s did not start: %m", p->desc->name);
                        g_free(s);
                        continue;
                }
                g_ptr_array_add(l->sources, s);
        }
}

struct lbd_links *lbd_links_new(const struct lbd_plugin_set *plugins,
                                lbd_links_changed_fn changed, void *userdata) {
        struct lbd_links *l = g_new0(struct lbd_links, 1);
        l->changed = changed;
        l->userdata = userdata;
        l->host.struct_size = sizeof(l->host);
        l->host.links_changed = on_links_changed;
        l->sources = g_ptr_array_new();
        l->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
        l->busy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        start_sources(l, plugins);
        return l;
}

struct lbd_links *lbd_links_free(struct lbd_links *l) {
        if (!l)
                return NULL;
        /* Only the set in effect is left when lbd stops (the arbiter freed
         * the retired ones first, and their fini() stopped them). */
        drop_sources(l, true);
        if (l->idle)
                g_source_remove(l->idle);
        g_ptr_array_unref(l->sources);
        g_ptr_array_unref(l->links);
        g_hash_table_unref(l->busy);
        g_free(l);
        return NULL;
}

void lbd_links_sync_plugins(struct lbd_links *l, const struct lbd_plugin_set *plugins) {
        if (l->set == plugins)
                return;
        drop_sources(l, false);
        start_sources(l, plugins);
        lbd_links_refresh(l);
}

/* ---- the list ------------------------------------------------------------ */

static const struct lbd_link *find_in(const GPtrArray *links, const char *name) {
        for (guint i = 0; i < links->len; i++)
                if (g_str_equal(((struct lbd_link *)links->pdata[i])->name, name))
                        return links->pdata[i];
        return NULL;
}

static void collect(const struct lbd_link_info *info, void *userdata) {
        GPtrArray *links = userdata;
        if (!info->name || find_in(links, info->name))
                return; /* one name, one object: the first plugin's */
        struct lbd_link *k = g_new0(struct lbd_link, 1);
        k->name = g_strdup(info->name);
        k->kind = g_strdup(info->kind ? info->kind : "");
        k->mode = g_strdup(info->mode ? info->mode : "");
        k->ports = info->ports ? g_strdupv((char **)info->ports) : g_new0(char *, 1);
        k->state = g_strdup(info->state ? info->state : "unknown");
        k->managed = info->managed;
        g_ptr_array_add(links, k);
}

static gint by_name(gconstpointer a, gconstpointer b) {
        return strcmp((*(struct lbd_link *const *)a)->name, (*(struct lbd_link *const *)b)->name);
}

void lbd_links_refresh(struct lbd_links *l) {
        GPtrArray *now = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
        for (guint i = 0; i < l->sources->len; i++) {
                struct source *s = l->sources->pdata[i];
                network_ops(s->plugin)->list(s->plugin->data, collect, now);
        }
        g_ptr_array_sort(now, by_name);
        g_autoptr(GPtrArray) before = l->links;
        l->links = now; /* what the callback's getters read */
        if (l->changed)
                l->changed(l->userdata, before, now);
}

const GPtrArray *lbd_links_list(struct lbd_links *l) { return l->links; }

const struct lbd_link *lbd_links_find(struct lbd_links *l, const char *name) {
        return l ? find_in(l->links, name) : NULL;
}

const struct lbd_plugin *lbd_links_plugin(struct lbd_links *l, const char *kind) {
        for (guint i = 0; l && i < l->sources->len; i++) {
                struct source *s = l->sources->pdata[i];
                if (g_str_equal(s->plugin->desc->name, kind))
                        return s->plugin;
        }
        return NULL;
}

char *lbd_links_kinds(struct lbd_links *l) {
        GString *s = g_string_new(NULL);
        for (guint i = 0; l && i < l->sources->len; i++)
                g_string_append_printf(s, "%s%s", i ? ", " : "",
                                       ((struct source *)l->sources->pdata[i])->plugin->desc->name);
        return g_string_free(s, FALSE);
}

bool lbd_links_busy(struct lbd_links *l, const char *ifname) {
        if (!l || g_hash_table_contains(l->busy, ifname))
                return false;
        g_hash_table_add(l->busy, g_strdup(ifname));
        return true;
}

void lbd_links_unbusy(struct lbd_links *l, const char *ifname) {
        if (l)
                g_hash_table_remove(l->busy, ifname);
}
