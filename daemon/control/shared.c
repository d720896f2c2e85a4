/* SPDX-License-Identifier: MIT */
#include "shared.h"

#include <errno.h>
#include <glib.h>

struct shared_entry {
        char *key;
        void *object;
        void (*destroy)(void *object);
        size_t (*private_fds)(void *object, int *fds, size_t max);
};

struct lbd_shared {
        GArray *entries; /* struct shared_entry, oldest first; few, so a list */
};

struct lbd_shared *lbd_shared_new(void) {
        struct lbd_shared *s = g_new0(struct lbd_shared, 1);
        s->entries = g_array_new(FALSE, FALSE, sizeof(struct shared_entry));
        return s;
}

struct lbd_shared *lbd_shared_free(struct lbd_shared *s) {
        if (!s)
                return NULL;
        /* Newest first: a later object may use an earlier one. */
        for (guint i = s->entries->len; i > 0; i--) {
                struct shared_entry *e = &g_array_index(s->entries, struct shared_entry, i - 1);
                if (e->destroy)
                        e->destroy(e->object);
                g_free(e->key);
        }
        g_array_unref(s->entries);
        g_free(s);
        return NULL;
}

void *lbd_shared_get(struct lbd_shared *s, const char *key) {
        for (guint i = 0; s && i < s->entries->len; i++) {
                struct shared_entry *e = &g_array_index(s->entries, struct shared_entry, i);
                if (g_str_equal(e->key, key))
                        return e->object;
        }
        return NULL;
}

int lbd_shared_set(struct lbd_shared *s, const char *key, void *object,
                   void (*destroy)(void *object)) {
        if (!s)
                return -ENOSYS;
        if (lbd_shared_get(s, key))
                return -EEXIST;
        struct shared_entry e = { g_strdup(key), object, destroy, NULL };
        g_array_append_val(s->entries, e);
        return 0;
}

int lbd_shared_set_private_fds(struct lbd_shared *s, const char *key,
                               size_t (*fds)(void *object, int *fds, size_t max)) {
        for (guint i = 0; s && i < s->entries->len; i++) {
                struct shared_entry *e = &g_array_index(s->entries, struct shared_entry, i);
                if (g_str_equal(e->key, key)) {
                        e->private_fds = fds;
                        return 0;
                }
        }
        return -ENOENT;
}

size_t lbd_shared_private_fds(const struct lbd_shared *s, int *fds, size_t max) {
        size_t n = 0;
        for (guint i = 0; s && i < s->entries->len && n < max; i++) {
                const struct shared_entry *e = &g_array_index(s->entries, struct shared_entry, i);
                if (e->private_fds)
                        n += e->private_fds(e->object, fds + n, max - n);
        }
        return n;
}
