/* SPDX-License-Identifier: MIT */
/*
 * The one NMClient of the daemon, shared by the bond and team plugins
 * through the host's registry (struct lbd_host's get_shared/set_shared):
 * one D-Bus connection, one cache of NetworkManager's objects, whatever
 * the number of network plugins or reloads. It is created without
 * blocking: g_object_new() now, its initialization asynchronously on the
 * master's GLib main loop. NMClient follows NetworkManager by itself: when
 * NetworkManager stops, nm-running turns false and the cache empties; when
 * it starts again, the cache fills again. Nothing to reconnect.
 *
 * The marks below are object data on the client, not state of a plugin,
 * because whichever plugin created the client may be gone (a reload)
 * while the others use it.
 */
#include <errno.h>

#include "net-common.h"

#define SHARED_KEY "network.nm-client"
#define READY_MARK "lbd-net-ready"   /* initialization finished */
#define ERROR_MARK "lbd-net-error"   /* ... and failed: the message */
#define CANCEL_MARK "lbd-net-cancel" /* GCancellable of the initialization */

#define DESTROY_WAIT_USEC (2 * G_USEC_PER_SEC)

static void on_init_done(GObject *source, GAsyncResult *result, gpointer user_data) {
        g_autoptr(GError) e = NULL;
        if (!g_async_initable_init_finish(G_ASYNC_INITABLE(source), result, &e))
                g_object_set_data_full(source, ERROR_MARK, g_strdup(e->message), g_free);
        g_object_set_data(source, READY_MARK, GINT_TO_POINTER(1));
        /* Tell every plugin sharing the client that it can be read now:
         * they all watch nm-running. */
        g_object_notify(source, NM_CLIENT_NM_RUNNING);
        g_object_unref(source); /* the initialization's reference */
}

static void on_busy_watcher_gone(gpointer data, GObject *where_the_object_was) {
        *(bool *)data = true;
}

static gboolean on_destroy_timeout(gpointer data) {
        *(bool *)data = true;
        return G_SOURCE_REMOVE;
}

/* The registry's destroy function, when the daemon stops: after the
 * plugins stopped and before their fini(). libnm finishes its D-Bus calls
 * on the main context after the last unref; iterate it until the client's
 * busy watcher is gone (bounded), so nothing is left allocated. */
static void client_destroy(void *object) {
        NMClient *client = object;
        GCancellable *cancel = g_object_get_data(G_OBJECT(client), CANCEL_MARK);
        if (cancel)
                g_cancellable_cancel(cancel);
        g_autoptr(GMainContext) context = g_main_context_ref(nm_client_get_main_context(client));
        GObject *watcher = nm_client_get_context_busy_watcher(client);
        bool gone = false, timed_out = false;
        g_object_weak_ref(watcher, on_busy_watcher_gone, &gone);
        g_object_unref(client);
        GSource *timeout = g_timeout_source_new(DESTROY_WAIT_USEC / 1000);
        g_source_set_callback(timeout, on_destroy_timeout, &timed_out, NULL);
        g_source_attach(timeout, context);
        while (!gone && !timed_out)
                g_main_context_iteration(context, TRUE);
        g_source_destroy(timeout);
        g_source_unref(timeout);
        if (!gone)
                g_object_weak_unref(watcher, on_busy_watcher_gone, &gone);
}

/* The client's connection to the system bus: the master's, authenticated
 * as root; a worker forked after it was made must not keep it. */
static size_t client_private_fds(void *object, int *fds, size_t max) {
        GDBusConnection *bus = nm_client_get_dbus_connection(object);
        if (!bus || max == 0)
                return 0;
        GIOStream *stream = g_dbus_connection_get_stream(bus);
        if (!G_IS_SOCKET_CONNECTION(stream))
                return 0;
        int fd = g_socket_get_fd(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream)));
        if (fd < 0)
                return 0;
        fds[0] = fd;
        return 1;
}

NMClient *net_shared_client(const struct lbd_host *host, char **why) {
        if (host->struct_size < offsetof(struct lbd_host, set_shared) + sizeof(host->set_shared) ||
            !host->get_shared || !host->set_shared) {
                *why = g_strdup("the daemon offers no shared objects (lbd too old for this "
                                "plugin)");
                return NULL;
        }
        NMClient *client = host->get_shared(host, SHARED_KEY);
        if (client)
                return g_object_ref(client);

        client = g_object_new(NM_TYPE_CLIENT, NULL);
        int r = host->set_shared(host, SHARED_KEY, client, client_destroy);
        if (r < 0) {
                *why = g_strdup_printf("cannot share the NetworkManager client: %s",
                                       g_strerror(-r));
                g_object_unref(client);
                return NULL;
        }
        if (host->struct_size >= offsetof(struct lbd_host, set_shared_private_fds) +
                                         sizeof(host->set_shared_private_fds) &&
            host->set_shared_private_fds)
                (void)host->set_shared_private_fds(host, SHARED_KEY, client_private_fds);
        GCancellable *cancel = g_cancellable_new();
        g_object_set_data_full(G_OBJECT(client), CANCEL_MARK, cancel, g_object_unref);
        g_async_initable_init_async(G_ASYNC_INITABLE(client), G_PRIORITY_DEFAULT, cancel,
                                    on_init_done, g_object_ref(client));
        return g_object_ref(client);
}

bool net_client_ready(NMClient *client) {
        return g_object_get_data(G_OBJECT(client), READY_MARK) &&
               !g_object_get_data(G_OBJECT(client), ERROR_MARK);
}

const char *net_client_unavailable(NMClient *client) {
        const char *error = g_object_get_data(G_OBJECT(client), ERROR_MARK);
        if (error)
                return error;
        if (!g_object_get_data(G_OBJECT(client), READY_MARK))
                return "lbd is still reading NetworkManager's state; try again in a moment";
        if (!nm_client_get_nm_running(client))
                return "NetworkManager is not running";
        return NULL;
}
