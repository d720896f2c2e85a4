/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "lbclient.h"
#include "value.h"

static int read_basic(sd_bus_message *m, char type, struct value *v) {
        union {
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                int b;
                double d;
                const char *s;
        } x;
        int r = sd_bus_message_read_basic(m, type, &x);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        switch (type) {
        case 'y': v->type = VALUE_UINT, v->u = x.y; break;
        case 'q': v->type = VALUE_UINT, v->u = x.q; break;
        case 'u': v->type = VALUE_UINT, v->u = x.u; break;
        case 't': v->type = VALUE_UINT, v->u = x.t; break;
        case 'n': v->type = VALUE_INT, v->i = x.n; break;
        case 'i': case 'h': v->type = VALUE_INT, v->i = x.i; break;
        case 'x': v->type = VALUE_INT, v->i = x.x; break;
        case 'b': v->type = VALUE_BOOL, v->b = x.b; break;
        case 'd': v->type = VALUE_DOUBLE, v->d = x.d; break;
        case 's': case 'o': case 'g': v->type = VALUE_STRING, v->s = xstrdup(x.s); break;
        default: return -EBADMSG;
        }
        return 1;
}

static struct value *push_item(struct value *v) {
        struct value *items = realloc(v->items, (v->n + 1) * sizeof(*items));
        if (!items)
                oom();
        v->items = items;
        memset(&items[v->n], 0, sizeof(*items));
        return &items[v->n++];
}

/* The key of a dict entry as text. */
static char *key_text(const struct value *k) {
        switch (k->type) {
        case VALUE_STRING: return xstrdup(k->s);
        case VALUE_INT: return xasprintf("%lld", (long long)k->i);
        case VALUE_UINT: return xasprintf("%llu", (unsigned long long)k->u);
        case VALUE_BOOL: return xstrdup(k->b ? "true" : "false");
        case VALUE_DOUBLE: return xasprintf("%g", k->d);
        default: return xstrdup("");
        }
}

/* Read elements until the end of the current container. */
static int read_items(sd_bus_message *m, struct value *v, bool dict) {
        for (;;) {
                char type;
                const char *contents;
                int r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
                if (!dict) {
                        r = value_read(m, push_item(v));
                        if (r < 0)
                                return r;
                        continue;
                }
                r = sd_bus_message_enter_container(m, 'e', contents);
                if (r <= 0)
                        return r < 0 ? r : -EBADMSG;
                struct value key = { 0 };
                r = value_read(m, &key);
                if (r < 0) {
                        value_clear(&key);
                        return r;
                }
                struct value *item = push_item(v);
                item->key = key_text(&key);
                value_clear(&key);
                r = value_read(m, item);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
}

int value_read(sd_bus_message *m, struct value *v) {
        char type;
        const char *contents;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (!strchr("vare", type))
                return read_basic(m, type, v);
        r = sd_bus_message_enter_container(m, type, contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (type == 'v') {
                r = value_read(m, v);
        } else {
                bool dict = type == 'a' && contents[0] == '{';
                v->type = dict ? VALUE_DICT : VALUE_ARRAY;
                r = read_items(m, v, dict);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

void value_clear(struct value *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++)
                value_clear(&v->items[i]);
        free(v->items);
        free(v->key);
        free(v->s);
        memset(v, 0, sizeof(*v));
}

const struct value *value_get(const struct value *dict, const char *key) {
        if (!dict || dict->type != VALUE_DICT)
                return NULL;
        for (size_t i = 0; i < dict->n; i++)
                if (strcmp(dict->items[i].key, key) == 0)
                        return &dict->items[i];
        return NULL;
}

static const struct value *lookup(const struct value *v, const char *key) {
        return key ? value_get(v, key) : v;
}

const char *value_str(const struct value *v, const char *key) {
        v = lookup(v, key);
        return v && v->type == VALUE_STRING ? v->s : NULL;
}

uint64_t value_uint(const struct value *v, const char *key) {
        v = lookup(v, key);
        if (!v)
                return 0;
        if (v->type == VALUE_UINT)
                return v->u;
        if (v->type == VALUE_INT && v->i >= 0)
                return (uint64_t)v->i;
        return 0;
}

bool value_bool(const struct value *v, const char *key) {
        v = lookup(v, key);
        return v && v->type == VALUE_BOOL && v->b;
}

char **value_strv(const struct value *v, const char *key) {
        v = lookup(v, key);
        char **strv = calloc(1, sizeof(char *));
        if (!strv)
                oom();
        for (size_t i = 0; v && v->type == VALUE_ARRAY && i < v->n; i++)
                if (v->items[i].type == VALUE_STRING)
                        strv_push(&strv, v->items[i].s);
        return strv;
}
