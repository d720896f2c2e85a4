/* SPDX-License-Identifier: MIT */
/*
 * The operations on links, as chains of libnm's asynchronous calls: each
 * step starts one call and returns; its callback starts the next. An
 * operation ends exactly once, in op_complete(), which calls the daemon's
 * done. create() remembers every profile it made and, when a later step
 * fails (a profile refused, activation failing), deletes them again,
 * newest first, before it reports the failure: no orphan port profiles.
 *
 * stop() ends the operations under way at once (done with -ECANCELED) and
 * detaches them: the libnm call still in flight calls back later, and the
 * callback only frees the operation.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "net-private.h"

/* How long an activation is waited for before the call returns with it
 * still under way (DHCP or LACP negotiation can take longer; the link's
 * State property follows it). */
#define ACTIVATION_WAIT_SECONDS 15

enum op_kind { OP_CREATE, OP_MODIFY, OP_ACTIVATE, OP_DEACTIVATE, OP_REMOVE };

struct net_op {
        struct net_plugin *plugin; /* NULL once detached by stop() */
        enum op_kind what;
        lbd_link_done_fn done;
        void *userdata;
        NMClient *client;          /* a reference */
        GCancellable *cancellable;
        char *ifname;
        bool in_flight;            /* a libnm call will call back */
        bool activate;             /* create: activate when made */
        GPtrArray *to_add;         /* NMConnection *: create's profiles, in order */
        guint next;                /* the next of to_add */
        GPtrArray *made;           /* NMRemoteConnection *: made (create), to delete (remove) */
        int error;                 /* the failure being rolled back / the first one */
        char *message;
        NMActiveConnection *ac;    /* the activation waited for */
        gulong ac_handler;
        guint ac_timeout;
};

static void stop_waiting(struct net_op *op) {
        if (op->ac_handler)
                g_signal_handler_disconnect(op->ac, op->ac_handler);
        op->ac_handler = 0;
        if (op->ac_timeout)
                g_source_remove(op->ac_timeout);
        op->ac_timeout = 0;
        g_clear_object(&op->ac);
}

static void op_free(struct net_op *op) {
        stop_waiting(op);
        g_clear_object(&op->client);
        g_clear_object(&op->cancellable);
        g_clear_pointer(&op->to_add, g_ptr_array_unref);
        g_clear_pointer(&op->made, g_ptr_array_unref);
        g_free(op->ifname);
        g_free(op->message);
        g_free(op);
}

static void op_complete(struct net_op *op, int error, const char *message) {
        struct net_plugin *p = op->plugin;
        if (p) {
                p->ops = g_list_remove(p->ops, op);
                op->done(op->userdata, error, message);
        }
        op_free(op);
}

static void op_completef(struct net_op *op, int error, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static void op_completef(struct net_op *op, int error, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *message = g_strdup_vprintf(format, ap);
        va_end(ap);
        op_complete(op, error, message);
}

/* A callback's first step: false when the operation was detached (and is
 * now freed). */
static bool op_resume(struct net_op *op) {
        op->in_flight = false;
        if (op->plugin)
                return true;
        op_free(op);
        return false;
}

void net_ops_cancel_all(struct net_plugin *p) {
        GList *ops = g_steal_pointer(&p->ops);
        for (GList *l = ops; l; l = l->next) {
                struct net_op *op = l->data;
                op->plugin = NULL;
                op->done(op->userdata, -ECANCELED,
                         "lbd stopped its network plugin (stopping or reloading) before "
                         "NetworkManager answered; check the link's state");
                g_cancellable_cancel(op->cancellable);
                stop_waiting(op);
                if (!op->in_flight)
                        op_free(op);
        }
        g_list_free(ops);
}

/* A new operation, or NULL when it ended at once (done called): the
 * plugin not started or NetworkManager unavailable. */
static struct net_op *op_new(struct net_plugin *p, enum op_kind what, const char *ifname,
                             lbd_link_done_fn done, void *userdata) {
        if (!p->client) {
                done(userdata, -ENOTCONN, "The network plugin is not started");
                return NULL;
        }
        const char *why = net_client_unavailable(p->client);
        if (why) {
                g_autofree char *message =
                        g_strdup_printf("NetworkManager is unavailable: %s", why);
                done(userdata, -ENOTCONN, message);
                return NULL;
        }
        struct net_op *op = g_new0(struct net_op, 1);
        op->plugin = p;
        op->what = what;
        op->done = done;
        op->userdata = userdata;
        op->client = g_object_ref(p->client);
        op->cancellable = g_cancellable_new();
        op->ifname = g_strdup(ifname);
        op->made = g_ptr_array_new_with_free_func(g_object_unref);
        p->ops = g_list_prepend(p->ops, op);
        return op;
}

/* ---- errors ------------------------------------------------------------- */

static int error_code(NMClient *client, const GError *e) {
        if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return -ECANCELED;
        if (!nm_client_get_nm_running(client) ||
            g_error_matches(e, NM_CLIENT_ERROR, NM_CLIENT_ERROR_MANAGER_NOT_RUNNING) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
            g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CLOSED))
                return -ENOTCONN;
        /* The kernel's EOPNOTSUPP comes back as text (no bonding or team
         * driver). */
        if (strstr(e->message, "Operation not supported") || strstr(e->message, "not supported"))
                return -EOPNOTSUPP;
        return -EIO;
}

/* NetworkManager's own words, without the D-Bus error name. */
static char *error_text(const GError *e) {
        g_autoptr(GError) copy = g_error_copy(e);
        g_dbus_error_strip_remote_error(copy);
        return g_strdup(copy->message);
}

/* The message of a libnm call that failed: what lbd asked ("activate
 * bond0") and NetworkManager's words. */
static char *call_failed(NMClient *client, const GError *e, int *ret_code, const char *doing) {
        g_autofree char *text = error_text(e);
        *ret_code = error_code(client, e);
        if (*ret_code == -ENOTCONN)
                return g_strdup_printf("NetworkManager went away while lbd asked it to %s (%s); "
                                       "it is unavailable",
                                       doing, text);
        return g_strdup_printf("NetworkManager could not %s: %s", doing, text);
}

static const char *activation_reason(NMActiveConnectionStateReason r) {
        switch (r) {
        case NM_ACTIVE_CONNECTION_STATE_REASON_USER_DISCONNECTED:
                return "deactivated by a user";
        case NM_ACTIVE_CONNECTION_STATE_REASON_DEVICE_DISCONNECTED:
                return "the device disconnected";
        case NM_ACTIVE_CONNECTION_STATE_REASON_SERVICE_STOPPED:
                return "the service providing the connection stopped";
        case NM_ACTIVE_CONNECTION_STATE_REASON_IP_CONFIG_INVALID:
                return "the IP configuration is invalid";
        case NM_ACTIVE_CONNECTION_STATE_REASON_CONNECT_TIMEOUT:
                return "activation timed out";
        case NM_ACTIVE_CONNECTION_STATE_REASON_DEVICE_REMOVED:
                return "the device was removed";
        case NM_ACTIVE_CONNECTION_STATE_REASON_DEPENDENCY_FAILED:
                return "a port or the controller failed";
        case NM_ACTIVE_CONNECTION_STATE_REASON_DEVICE_REALIZE_FAILED:
                return "the device could not be created";
        case NM_ACTIVE_CONNECTION_STATE_REASON_CONNECTION_REMOVED:
                return "the profile was deleted";
        default:
                return "NetworkManager gave no reason";
        }
}

/* create's failures roll back what was made; the others just end. */
static void rollback_next(struct net_op *op);

static void op_fail(struct net_op *op, int error, const char *message) {
        if (op->what == OP_CREATE && op->made->len > 0) {
                op->error = error;
                op->message = g_strdup(message);
                net_plugin_log(op->plugin, LOG_WARNING,
                               "creating %s failed (%s); removing the %u profile(s) made",
                               op->ifname, message, op->made->len);
                rollback_next(op);
                return;
        }
        op_complete(op, error, message);
}

static void op_failf(struct net_op *op, int error, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static void op_failf(struct net_op *op, int error, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *message = g_strdup_vprintf(format, ap);
        va_end(ap);
        op_fail(op, error, message);
}

static void on_rolled_back(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        if (!nm_remote_connection_delete_finish(NM_REMOTE_CONNECTION(source), result, &e) &&
            op->plugin)
                net_plugin_log(op->plugin, LOG_ERR, "cannot remove profile %s again: %s",
                               nm_connection_get_id(NM_CONNECTION(source)), e->message);
        if (!op_resume(op))
                return;
        rollback_next(op);
}

static void rollback_next(struct net_op *op) {
        if (op->made->len == 0) {
                g_autofree char *message = g_steal_pointer(&op->message);
                g_autofree char *full = g_strdup_printf("%s (nothing was left behind)", message);
                op_complete(op, op->error, full);
                return;
        }
        NMRemoteConnection *rc = g_ptr_array_steal_index(op->made, op->made->len - 1);
        op->in_flight = true;
        /* Not cancellable: a rollback under way should finish. */
        nm_remote_connection_delete_async(rc, NULL, on_rolled_back, op);
        g_object_unref(rc);
}

/* ---- activation --------------------------------------------------------- */

static void check_activation(struct net_op *op);

static gboolean on_activation_timeout(gpointer data) {
        struct net_op *op = data;
        op->ac_timeout = 0;
        stop_waiting(op);
        op_completef(op, 0, "Activation of %s is under way; its State follows it", op->ifname);
        return G_SOURCE_REMOVE;
}

static void check_activation(struct net_op *op) {
        NMActiveConnectionState state = nm_active_connection_get_state(op->ac);
        if (state == NM_ACTIVE_CONNECTION_STATE_ACTIVATED) {
                stop_waiting(op);
                op_complete(op, 0, NULL);
                return;
        }
        if (state == NM_ACTIVE_CONNECTION_STATE_DEACTIVATED ||
            state == NM_ACTIVE_CONNECTION_STATE_DEACTIVATING) {
                const char *why = activation_reason(nm_active_connection_get_state_reason(op->ac));
                stop_waiting(op);
                op_failf(op, -EIO, "NetworkManager could not activate %s: %s", op->ifname, why);
                return;
        }
        if (!op->ac_handler) {
                op->ac_handler = g_signal_connect_swapped(
                        op->ac, "notify::" NM_ACTIVE_CONNECTION_STATE,
                        G_CALLBACK(check_activation), op);
                op->ac_timeout = g_timeout_add_seconds(ACTIVATION_WAIT_SECONDS,
                                                       on_activation_timeout, op);
        }
}

static void on_activated(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        NMActiveConnection *ac = nm_client_activate_connection_finish(NM_CLIENT(source), result,
                                                                      &e);
        if (!op_resume(op)) {
                g_clear_object(&ac);
                return;
        }
        if (!ac) {
                g_autofree char *doing = g_strdup_printf("activate %s", op->ifname);
                int code;
                g_autofree char *message = call_failed(op->client, e, &code, doing);
                op_fail(op, code, message);
                return;
        }
        op->ac = ac;
        check_activation(op);
}

static void activate_start(struct net_op *op, NMRemoteConnection *controller) {
        op->in_flight = true;
        nm_client_activate_connection_async(op->client, NM_CONNECTION(controller), NULL, NULL,
                                            op->cancellable, on_activated, op);
}

/* ---- create ------------------------------------------------------------- */

static void add_next(struct net_op *op);

static void on_added(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        NMRemoteConnection *rc = nm_client_add_connection2_finish(NM_CLIENT(source), result, NULL,
                                                                  &e);
        if (!op_resume(op)) {
                /* Detached: nobody waits for it, but nothing stays behind. */
                if (rc)
                        nm_remote_connection_delete_async(rc, NULL, NULL, NULL);
                g_clear_object(&rc);
                return;
        }
        if (!rc) {
                NMConnection *c = op->to_add->pdata[op->next - 1];
                g_autofree char *doing =
                        g_strdup_printf("add profile '%s'", nm_connection_get_id(c));
                int code;
                g_autofree char *message = call_failed(op->client, e, &code, doing);
                op_fail(op, code, message);
                return;
        }
        g_ptr_array_add(op->made, rc);
        add_next(op);
}

static void add_next(struct net_op *op) {
        if (op->next == op->to_add->len) {
                if (op->activate)
                        activate_start(op, op->made->pdata[0]);
                else
                        op_complete(op, 0, NULL);
                return;
        }
        NMConnection *c = op->to_add->pdata[op->next++];
        op->in_flight = true;
        nm_client_add_connection2(op->client,
                                  nm_connection_to_dbus(c, NM_CONNECTION_SERIALIZE_ALL),
                                  NM_SETTINGS_ADD_CONNECTION2_FLAG_TO_DISK, NULL, TRUE,
                                  op->cancellable, on_added, op);
}

static char *ethernet_names(NMClient *client) {
        g_autoptr(GString) s = g_string_new(NULL);
        const GPtrArray *devices = nm_client_get_devices(client);
        for (guint i = 0; devices && i < devices->len; i++)
                if (NM_IS_DEVICE_ETHERNET(devices->pdata[i]))
                        g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                               nm_device_get_iface(devices->pdata[i]));
        return g_strdup(s->len ? s->str : "none");
}

/* What NetworkManager has that the new link would clash with: a profile
 * or a device of that name, a port already enslaved elsewhere. */
static int check_free(struct net_op *op, const struct lbd_link_request *req) {
        const GPtrArray *all = nm_client_get_connections(op->client);
        for (guint i = 0; all && i < all->len; i++) {
                NMConnection *c = all->pdata[i];
                const char *name = nm_connection_get_interface_name(c);
                const char *id = nm_connection_get_id(c);
                if ((name && g_str_equal(name, req->ifname)) ||
                    (id && g_str_equal(id, req->ifname))) {
                        op_completef(op, -EEXIST,
                                     "NetworkManager has a profile '%s' (%s) for %s already; "
                                     "delete it or choose another name",
                                     id, nm_connection_get_connection_type(c), req->ifname);
                        return -EEXIST;
                }
        }
        NMDevice *d = nm_client_get_device_by_iface(op->client, req->ifname);
        if (d && nm_device_is_real(d)) {
                op_completef(op, -EEXIST,
                             "An interface named %s exists already; choose another name",
                             req->ifname);
                return -EEXIST;
        }
        for (const char *const *port = req->ports; *port; port++) {
                d = nm_client_get_device_by_iface(op->client, *port);
                if (!d || !NM_IS_DEVICE_ETHERNET(d)) {
                        g_autofree char *names = ethernet_names(op->client);
                        op_completef(op, -ENOENT,
                                     "No ethernet interface '%s' in NetworkManager; ethernet "
                                     "interfaces: %s",
                                     *port, names);
                        return -ENOENT;
                }
                for (guint i = 0; all && i < all->len; i++) {
                        NMConnection *c = all->pdata[i];
                        const char *name = nm_connection_get_interface_name(c);
                        g_autofree char *of = net_port_controller(c);
                        if (name && of && g_str_equal(name, *port)) {
                                op_completef(op, -EEXIST,
                                             "%s is a port of %s already (profile '%s'); "
                                             "delete that link or leave %s out",
                                             *port, of, nm_connection_get_id(c), *port);
                                return -EEXIST;
                        }
                }
        }
        return 0;
}

void net_op_create(void *data, const struct lbd_link_request *req, bool activate,
                   lbd_link_done_fn done, void *userdata) {
        struct net_plugin *p = data;
        struct net_op *op = op_new(p, OP_CREATE, req->ifname, done, userdata);
        if (!op)
                return;
        g_autofree char *why = NULL;
        if (p->kind->supported && p->kind->supported(op->client, &why) < 0) {
                op_complete(op, -EOPNOTSUPP, why);
                return;
        }
        if (check_free(op, req) < 0)
                return;
        op->activate = activate;
        op->to_add = g_ptr_array_new_with_free_func(g_object_unref);
        /* A profile made without activation stays down at boot too, until
         * ActivateLink: "profile only" means it. */
        NMConnection *c = net_controller_new(p->kind, req, activate, &why);
        if (!c) {
                op_complete(op, -EINVAL, why);
                return;
        }
        g_ptr_array_add(op->to_add, c);
        for (const char *const *port = req->ports; *port; port++) {
                c = net_port_new(p->kind, req->ifname, *port, activate, &why);
                if (!c) {
                        op_complete(op, -EINVAL, why);
                        return;
                }
                g_ptr_array_add(op->to_add, c);
        }
        add_next(op);
}

/* ---- modify ------------------------------------------------------------- */

static void on_updated(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        g_autoptr(GVariant) out =
                nm_remote_connection_update2_finish(NM_REMOTE_CONNECTION(source), result, &e);
        if (!op_resume(op))
                return;
        if (!out) {
                g_autofree char *doing = g_strdup_printf("save the new settings of %s",
                                                         op->ifname);
                int code;
                g_autofree char *message = call_failed(op->client, e, &code, doing);
                op_complete(op, code, message);
                return;
        }
        op_complete(op, 0, NULL);
}

static NMRemoteConnection *find_or_complete(struct net_op *op) {
        NMRemoteConnection *rc =
                net_find_controller(op->client, op->plugin->kind->name, op->ifname);
        if (!rc)
                op_completef(op, -ENOENT, "NetworkManager has no %s profile for %s",
                             op->plugin->kind->name, op->ifname);
        return rc;
}

void net_op_modify(void *data, const struct lbd_link_request *req, lbd_link_done_fn done,
                   void *userdata) {
        struct net_plugin *p = data;
        struct net_op *op = op_new(p, OP_MODIFY, req->ifname, done, userdata);
        if (!op)
                return;
        NMRemoteConnection *rc = find_or_complete(op);
        if (!rc)
                return;
        g_autoptr(NMConnection) c = nm_simple_connection_new_clone(NM_CONNECTION(rc));
        g_autofree char *why = NULL;
        g_autoptr(GError) e = NULL;
        if (p->kind->apply(c, req, &why) < 0 || net_apply_ipv4(c, req, &why) < 0) {
                op_complete(op, -EINVAL, why);
                return;
        }
        if (!nm_connection_normalize(c, NULL, NULL, &e)) {
                op_completef(op, -EINVAL, "NetworkManager would refuse these settings: %s",
                             e->message);
                return;
        }
        op->in_flight = true;
        /* Saved to disk; an active link takes them at its next activation,
         * as with nmcli connection modify. */
        nm_remote_connection_update2(rc, nm_connection_to_dbus(c, NM_CONNECTION_SERIALIZE_ALL),
                                     NM_SETTINGS_UPDATE2_FLAG_TO_DISK, NULL, op->cancellable,
                                     on_updated, op);
}

/* ---- activate, deactivate ----------------------------------------------- */

void net_op_activate(void *data, const char *ifname, lbd_link_done_fn done, void *userdata) {
        struct net_op *op = op_new(data, OP_ACTIVATE, ifname, done, userdata);
        if (!op)
                return;
        NMRemoteConnection *rc = find_or_complete(op);
        if (rc)
                activate_start(op, rc);
}

static void on_deactivated(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        gboolean ok = nm_client_deactivate_connection_finish(NM_CLIENT(source), result, &e);
        if (!op_resume(op))
                return;
        if (!ok) {
                g_autofree char *doing = g_strdup_printf("deactivate %s", op->ifname);
                int code;
                g_autofree char *message = call_failed(op->client, e, &code, doing);
                op_complete(op, code, message);
                return;
        }
        op_complete(op, 0, NULL);
}

void net_op_deactivate(void *data, const char *ifname, lbd_link_done_fn done, void *userdata) {
        struct net_op *op = op_new(data, OP_DEACTIVATE, ifname, done, userdata);
        if (!op)
                return;
        NMRemoteConnection *rc = find_or_complete(op);
        if (!rc)
                return;
        NMActiveConnection *ac = net_find_active(op->client, rc);
        if (!ac) {
                op_complete(op, 0, NULL); /* down already */
                return;
        }
        op->in_flight = true;
        nm_client_deactivate_connection_async(op->client, ac, op->cancellable, on_deactivated,
                                              op);
}

/* ---- remove ------------------------------------------------------------- */

static void remove_next(struct net_op *op);

static void on_deleted(GObject *source, GAsyncResult *result, gpointer data) {
        struct net_op *op = data;
        g_autoptr(GError) e = NULL;
        gboolean ok = nm_remote_connection_delete_finish(NM_REMOTE_CONNECTION(source), result, &e);
        if (!op_resume(op))
                return;
        if (!ok && !op->message) {
                g_autofree char *doing = g_strdup_printf(
                        "delete profile '%s'", nm_connection_get_id(NM_CONNECTION(source)));
                op->message = call_failed(op->client, e, &op->error, doing);
        }
        remove_next(op);
}

/* Ports first, the controller last: a failure half-way leaves a link
 * that can be deleted again, not ports without their controller. */
static void remove_next(struct net_op *op) {
        if (op->made->len == 0) {
                g_autofree char *message = g_steal_pointer(&op->message);
                op_complete(op, op->error, message);
                return;
        }
        NMRemoteConnection *rc = g_ptr_array_steal_index(op->made, 0);
        op->in_flight = true;
        nm_remote_connection_delete_async(rc, op->cancellable, on_deleted, op);
        g_object_unref(rc);
}

void net_op_remove(void *data, const char *ifname, lbd_link_done_fn done, void *userdata) {
        struct net_op *op = op_new(data, OP_REMOVE, ifname, done, userdata);
        if (!op)
                return;
        NMRemoteConnection *rc = find_or_complete(op);
        if (!rc)
                return;
        g_autoptr(GPtrArray) ports = net_find_ports(op->client, op->plugin->kind->name, rc);
        for (guint i = 0; i < ports->len; i++)
                g_ptr_array_add(op->made, g_object_ref(ports->pdata[i]));
        g_ptr_array_add(op->made, g_object_ref(rc));
        remove_next(op);
}
