/* SPDX-License-Identifier: MIT */
#include "etcd.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "json-stream.h"

#define REQUEST_TIMEOUT_S 3
#define PROBE_INTERVAL_MS 2000
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 5000
#define WATCH_READ_SIZE 65536

struct LbdEtcd {
        char **endpoints;
        guint current; /* index into endpoints */
        char *key_b64, *range_end_b64;
        LbdEtcdHooks hooks;
        SoupSession *requests;     /* range and probes: with a timeout */
        SoupSession *watches;      /* the watch stream: none (probes tell) */
        GCancellable *cancellable; /* this connection's requests; new per attempt */
        GInputStream *watch;
        LbdJsonStream stream;
        gint64 revision; /* the newest seen */
        gboolean connected;
        guint retry_ms;
        guint retry_id, probe_id;
        gboolean probing;
};

void lbd_kv_free(LbdKv *kv) {
        if (!kv)
                return;
        g_free(kv->key);
        g_free(kv->value);
        g_free(kv);
}

/* The smallest key above every key that starts with prefix. */
static char *prefix_end(const char *prefix, gsize *len) {
        gsize n = strlen(prefix);
        char *end = g_strndup(prefix, n);
        while (n > 0) {
                if ((unsigned char)end[n - 1] < 0xff) {
                        end[n - 1]++;
                        *len = n;
                        return end;
                }
                n--;
        }
        *len = 1;
        end = g_realloc(end, 2);
        end[0] = '\0'; /* every key: etcd's "\0" range end */
        return end;
}

static void connect_now(LbdEtcd *e);

static const char *endpoint(LbdEtcd *e) {
        return e->endpoints[e->current];
}

static void drop_connection(LbdEtcd *e, const char *why) {
        g_cancellable_cancel(e->cancellable);
        g_clear_object(&e->cancellable);
        g_clear_object(&e->watch);
        g_clear_handle_id(&e->probe_id, g_source_remove);
        e->probing = FALSE;
        lbd_json_stream_clear(&e->stream);
        gboolean was = e->connected;
        e->connected = FALSE;
        if (was || why)
                e->hooks.connection(FALSE, endpoint(e), why, e->hooks.data);
}

static gboolean retry_now(gpointer data) {
        LbdEtcd *e = data;
        e->retry_id = 0;
        connect_now(e);
        return G_SOURCE_REMOVE;
}

/* This endpoint failed: the next one, at once the first time round, then
 * after a growing pause while none answers. */
static void fail(LbdEtcd *e, const char *why) {
        g_autofree char *text = g_strdup_printf("%s: %s", endpoint(e), why);
        drop_connection(e, text);
        e->current = (e->current + 1) % g_strv_length(e->endpoints);
        guint delay = e->retry_ms;
        e->retry_ms = MIN(MAX(e->retry_ms * 2, RETRY_MIN_MS), RETRY_MAX_MS);
        if (!e->retry_id)
                e->retry_id = g_timeout_add(delay, retry_now, e);
}

static SoupMessage *post(LbdEtcd *e, const char *path, JsonBuilder *body) {
        g_autofree char *url = g_strconcat(endpoint(e), path, NULL);
        SoupMessage *msg = soup_message_new("POST", url);
        if (!msg)
                return NULL;
        g_autoptr(JsonNode) root = json_builder_get_root(body);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        json_generator_set_root(gen, root);
        gsize len;
        char *text = json_generator_to_data(gen, &len);
        g_autoptr(GBytes) bytes = g_bytes_new_take(text, len);
        soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
        return msg;
}

static JsonBuilder *range_body(LbdEtcd *e, gboolean count_only) {
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "key");
        json_builder_add_string_value(b, e->key_b64);
        json_builder_set_member_name(b, "range_end");
        json_builder_add_string_value(b, e->range_end_b64);
        if (count_only) {
                json_builder_set_member_name(b, "count_only");
                json_builder_add_boolean_value(b, TRUE);
        }
        json_builder_end_object(b);
        return b;
}

/* etcd's JSON writes int64 as strings. */
static gint64 int64_member(JsonObject *o, const char *name) {
        JsonNode *n = o ? json_object_get_member(o, name) : NULL;
        if (!n || !JSON_NODE_HOLDS_VALUE(n))
                return 0;
        if (json_node_get_value_type(n) == G_TYPE_STRING)
                return g_ascii_strtoll(json_node_get_string(n), NULL, 10);
        if (json_node_get_value_type(n) == G_TYPE_INT64)
                return json_node_get_int(n);
        return 0;
}

static JsonObject *object_member(JsonObject *o, const char *name) {
        JsonNode *n = o ? json_object_get_member(o, name) : NULL;
        return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static char *b64_member(JsonObject *o, const char *name, gsize *len) {
        JsonNode *n = o ? json_object_get_member(o, name) : NULL;
        *len = 0;
        if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
                return g_strdup("");
        guchar *raw = g_base64_decode(json_node_get_string(n), len);
        char *s = g_malloc(*len + 1);
        memcpy(s, raw, *len);
        s[*len] = '\0';
        g_free(raw);
        return s;
}

static LbdKv *kv_from(JsonObject *kv, gboolean deleted) {
        LbdKv *out = g_new0(LbdKv, 1);
        out->key = b64_member(kv, "key", &out->key_len);
        out->value = b64_member(kv, "value", &out->value_len);
        out->deleted = deleted;
        return out;
}

/* A reply's JSON object, or NULL with *why. */
static JsonObject *reply_object(SoupMessage *msg, GBytes *body, JsonParser *parser, char **why) {
        guint status = soup_message_get_status(msg);
        gsize len;
        const char *data = body ? g_bytes_get_data(body, &len) : NULL;
        if (status != SOUP_STATUS_OK) {
                *why = g_strdup_printf("HTTP %u %.200s", status, data ? data : "");
                return NULL;
        }
        g_autoptr(GError) error = NULL;
        if (!data || !json_parser_load_from_data(parser, data, len, &error) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
                *why = g_strdup_printf("not a JSON object: %s", error ? error->message : "empty");
                return NULL;
        }
        return json_node_get_object(json_parser_get_root(parser));
}

/* --- the watch ------------------------------------------------------------ */

static void read_watch(LbdEtcd *e);

static void watch_message(LbdEtcd *e, const char *text) {
        g_autoptr(JsonParser) parser = json_parser_new();
        if (!json_parser_load_from_data(parser, text, -1, NULL) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
                fail(e, "the watch sent something that is not JSON");
                return;
        }
        JsonObject *root = json_node_get_object(json_parser_get_root(parser));
        JsonObject *error = object_member(root, "error");
        if (error) {
                g_autofree char *why = g_strdup_printf(
                        "watch: %s",
                        json_object_get_string_member_with_default(error, "message", "error"));
                fail(e, why);
                return;
        }
        JsonObject *result = object_member(root, "result");
        if (!result)
                return;
        if (int64_member(result, "compact_revision") > 0 ||
            json_object_get_boolean_member_with_default(result, "canceled", FALSE)) {
                /* Compacted past our revision: read everything again. */
                drop_connection(e, NULL);
                connect_now(e);
                return;
        }
        gint64 revision = int64_member(object_member(result, "header"), "revision");
        JsonNode *events = json_object_get_member(result, "events");
        if (!events || !JSON_NODE_HOLDS_ARRAY(events))
                return;
        g_autoptr(GPtrArray) kvs = g_ptr_array_new_with_free_func((GDestroyNotify)lbd_kv_free);
        JsonArray *list = json_node_get_array(events);
        for (guint i = 0; i < json_array_get_length(list); i++) {
                JsonObject *ev = json_array_get_object_element(list, i);
                const char *type = json_object_get_string_member_with_default(ev, "type", "PUT");
                g_ptr_array_add(kvs, kv_from(object_member(ev, "kv"), strcmp(type, "DELETE") == 0));
        }
        if (revision > e->revision)
                e->revision = revision;
        e->hooks.events(kvs, revision, e->hooks.data);
}

static void watch_read(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) bytes =
                g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdEtcd *e = data;
        if (!bytes || g_bytes_get_size(bytes) == 0) {
                fail(e, error ? error->message : "the watch ended");
                return;
        }
        g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func(g_free);
        gsize len;
        const char *chunk = g_bytes_get_data(bytes, &len);
        if (!lbd_json_stream_feed(&e->stream, chunk, len, objects)) {
                fail(e, "the watch stream is not a sequence of JSON objects");
                return;
        }
        GCancellable *still = e->cancellable;
        for (guint i = 0; i < objects->len && e->cancellable == still && e->watch; i++)
                watch_message(e, objects->pdata[i]);
        if (e->watch && e->cancellable == still)
                read_watch(e);
}

static void read_watch(LbdEtcd *e) {
        g_input_stream_read_bytes_async(e->watch, WATCH_READ_SIZE, G_PRIORITY_DEFAULT,
                                        e->cancellable, watch_read, e);
}

static void watch_started(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdEtcd *e = data;
        SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
        if (!stream || soup_message_get_status(msg) != SOUP_STATUS_OK) {
                g_autofree char *why =
                        error ? g_strdup(error->message)
                              : g_strdup_printf("watch: HTTP %u", soup_message_get_status(msg));
                g_clear_object(&stream);
                fail(e, why);
                return;
        }
        e->watch = stream;
        lbd_json_stream_init(&e->stream);
        read_watch(e);
}

static void start_watch(LbdEtcd *e) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "create_request");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "key");
        json_builder_add_string_value(b, e->key_b64);
        json_builder_set_member_name(b, "range_end");
        json_builder_add_string_value(b, e->range_end_b64);
        json_builder_set_member_name(b, "start_revision");
        g_autofree char *start = g_strdup_printf("%" G_GINT64_FORMAT, e->revision + 1);
        json_builder_add_string_value(b, start);
        json_builder_end_object(b);
        json_builder_end_object(b);
        g_autoptr(SoupMessage) msg = post(e, "/v3/watch", b);
        soup_session_send_async(e->watches, msg, G_PRIORITY_DEFAULT, e->cancellable, watch_started,
                                e);
}

/* --- probes --------------------------------------------------------------- */

static gboolean probe(gpointer data);

static void probed(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) body =
                soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdEtcd *e = data;
        e->probing = FALSE;
        SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autofree char *why = NULL;
        if (error)
                why = g_strdup(error->message);
        else
                reply_object(msg, body, parser, &why); /* sets why when it is not one */
        if (why) {
                g_autofree char *text = g_strdup_printf("probe: %s", why);
                fail(e, text);
        }
}

static gboolean probe(gpointer data) {
        LbdEtcd *e = data;
        if (e->probing) /* the last one has not come back within an interval */
                return G_SOURCE_CONTINUE;
        e->probing = TRUE;
        g_autoptr(JsonBuilder) b = range_body(e, TRUE);
        g_autoptr(SoupMessage) msg = post(e, "/v3/kv/range", b);
        soup_session_send_and_read_async(e->requests, msg, G_PRIORITY_DEFAULT, e->cancellable,
                                         probed, e);
        return G_SOURCE_CONTINUE;
}

/* --- the full read ---------------------------------------------------------- */

static void range_read(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) body =
                soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdEtcd *e = data;
        SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autofree char *why = NULL;
        JsonObject *root = error ? NULL : reply_object(msg, body, parser, &why);
        if (!root) {
                fail(e, error ? error->message : why);
                return;
        }
        g_autoptr(GPtrArray) kvs = g_ptr_array_new_with_free_func((GDestroyNotify)lbd_kv_free);
        JsonNode *list = json_object_get_member(root, "kvs");
        if (list && JSON_NODE_HOLDS_ARRAY(list)) {
                JsonArray *a = json_node_get_array(list);
                for (guint i = 0; i < json_array_get_length(a); i++)
                        g_ptr_array_add(kvs, kv_from(json_array_get_object_element(a, i), FALSE));
        }
        e->revision = int64_member(object_member(root, "header"), "revision");
        e->retry_ms = 0;
        e->connected = TRUE;
        e->hooks.connection(TRUE, endpoint(e), NULL, e->hooks.data);
        e->hooks.snapshot(kvs, e->revision, e->hooks.data);
        start_watch(e);
        e->probe_id = g_timeout_add(PROBE_INTERVAL_MS, probe, e);
}

static void connect_now(LbdEtcd *e) {
        g_clear_object(&e->cancellable);
        e->cancellable = g_cancellable_new();
        g_autoptr(JsonBuilder) b = range_body(e, FALSE);
        g_autoptr(SoupMessage) msg = post(e, "/v3/kv/range", b);
        if (!msg) {
                fail(e, "not an http:// URL");
                return;
        }
        soup_session_send_and_read_async(e->requests, msg, G_PRIORITY_DEFAULT, e->cancellable,
                                         range_read, e);
}

LbdEtcd *lbd_etcd_new(const char *const *endpoints, const char *prefix, const LbdEtcdHooks *hooks) {
        LbdEtcd *e = g_new0(LbdEtcd, 1);
        e->endpoints = g_strdupv((char **)endpoints);
        e->hooks = *hooks;
        e->key_b64 = g_base64_encode((const guchar *)prefix, strlen(prefix));
        gsize end_len;
        g_autofree char *end = prefix_end(prefix, &end_len);
        e->range_end_b64 = g_base64_encode((const guchar *)end, end_len);
        e->requests = soup_session_new_with_options("timeout", REQUEST_TIMEOUT_S, NULL);
        e->watches = soup_session_new_with_options("timeout", 0, "idle-timeout", 0, NULL);
        return e;
}

void lbd_etcd_start(LbdEtcd *e) {
        connect_now(e);
}

void lbd_etcd_free(LbdEtcd *e) {
        if (!e)
                return;
        g_clear_handle_id(&e->retry_id, g_source_remove);
        g_clear_handle_id(&e->probe_id, g_source_remove);
        if (e->cancellable)
                g_cancellable_cancel(e->cancellable);
        g_clear_object(&e->cancellable);
        g_clear_object(&e->watch);
        lbd_json_stream_clear(&e->stream);
        g_clear_object(&e->requests);
        g_clear_object(&e->watches);
        g_strfreev(e->endpoints);
        g_free(e->key_b64);
        g_free(e->range_end_b64);
        g_free(e);
}
