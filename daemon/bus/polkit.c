/* SPDX-License-Identifier: MIT */
#include "polkit.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "cleanup.h"

/* Every user may call a mutating method, and each pending call costs a
 * query: bound them (systemd's own limit on queued messages is larger, but
 * an authorization nobody answers for 5 s is an attack, not a workload). */
#define MAX_PENDING 1024u
/* An interactive authorization waits for a person at a polkit agent. */
#define INTERACTIVE_TIMEOUT_USEC (UINT64_C(300) * 1000000u)
/* Any other answers at once, unless polkitd hangs (stopped, swapping):
 * the caller hears so well before its own call times out (25 s). */
#define CHECK_TIMEOUT_S 5u
#define CHECK_TIMEOUT_USEC ((uint64_t)CHECK_TIMEOUT_S * 1000000u)

struct lbd_polkit {
        sd_bus *bus;
        GHashTable *queries; /* sd_bus_message * → struct query *, owned */
};

struct query {
        struct lbd_polkit *owner;
        sd_bus_message *request; /* the method call being authorized */
        char *action;
        bool interactive;
        sd_bus_slot *slot;       /* the pending GetConnectionUnixUser or CheckAuthorization */
        sd_event_source *defer;  /* frees the query after the second dispatch */
        bool done;
        bool authorized;
        sd_bus_error error;      /* the refusal, when done and not authorized */
};

static void query_free(struct query *q) {
        if (!q)
                return;
        if (q->owner)
                g_hash_table_remove(q->owner->queries, q->request);
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        g_free(q->action);
        g_free(q);
}

int lbd_polkit_new(sd_bus *bus, struct lbd_polkit **ret) {
        struct lbd_polkit *p = g_new0(struct lbd_polkit, 1);
        p->bus = sd_bus_ref(bus);
        p->queries = g_hash_table_new(g_direct_hash, g_direct_equal);
        *ret = p;
        return 0;
}

struct lbd_polkit *lbd_polkit_free(struct lbd_polkit *p) {
        if (!p)
                return NULL;
        GHashTableIter it;
        gpointer value;
        /* query_free() removes the query from the table: restart each time. */
        for (;;) {
                g_hash_table_iter_init(&it, p->queries);
                if (!g_hash_table_iter_next(&it, NULL, &value))
                        break;
                query_free(value);
        }
        g_hash_table_unref(p->queries);
        sd_bus_unref(p->bus);
        g_free(p);
        return NULL;
}

unsigned lbd_polkit_n_pending(const struct lbd_polkit *p) {
        return p ? g_hash_table_size(p->queries) : 0;
}

/* ---- the verdict --------------------------------------------------------- */

static int on_defer(sd_event_source *s, void *userdata) {
        /* Idle priority: the re-queued call has been dispatched by now. */
        query_free(userdata);
        return 0;
}

/* Record the verdict and queue the original call for a second dispatch.
 * error (may be NULL when authorized) is moved into the query. */
static void query_finish(struct query *q, bool authorized, sd_bus_error *error) {
        q->done = true;
        q->authorized = authorized;
        if (error)
                sd_bus_error_move(&q->error, error);
        q->slot = sd_bus_slot_unref(q->slot);

        int r = sd_event_add_defer(sd_bus_get_event(q->owner->bus), &q->defer, on_defer, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->defer, SD_EVENT_ONESHOT);
        if (r >= 0)
                r = sd_bus_message_rewind(q->request, 1);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(q->owner->bus, q->request);
        if (r < 0) {
                log_warning_errno(r, "cannot resume the authorized call %s: %m",
                                  sd_bus_message_get_member(q->request));
                sd_bus_reply_method_errnof(q->request, -r, "Cannot resume the call after "
                                           "authorization: %s", g_strerror(-r));
                query_free(q);
        }
}

static void query_deny(struct query *q, const char *name, const char *format, ...)
        G_GNUC_PRINTF(3, 4);

static void query_deny(struct query *q, const char *name, const char *format, ...) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        va_start(ap, format);
        sd_bus_error_setfv(&e, name, format, ap);
        va_end(ap);
        log_debug("polkit: %s of %s refused: %s", q->action,
                  sd_bus_message_get_sender(q->request), e.message);
        query_finish(q, false, &e);
}

static bool error_means_no_polkit(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                      SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_NO_REPLY,
                                      SD_BUS_ERROR_TIMEOUT, SD_BUS_ERROR_DISCONNECTED);
}

static int on_check_authorization(sd_bus_message *reply, void *userdata,
                                  sd_bus_error *ret_error) {
        struct query *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e) {
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
                        query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                                   "Not authorized to perform %s: polkit did not answer within "
                                   "%u s",
                                   q->action,
                                   q->interactive ? (unsigned)(INTERACTIVE_TIMEOUT_USEC / 1000000u)
                                                  : CHECK_TIMEOUT_S);
                else if (error_means_no_polkit(e))
                        query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                                   "Not authorized to perform %s: polkit is not available (%s)",
                                   q->action, e->message ? e->message : e->name);
                else
                        query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                                   "Not authorized to perform %s: polkit failed: %s", q->action,
                                   e->message ? e->message : e->name);
                return 0;
        }
        int authorized = 0, challenge = 0;
        int r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                           "Not authorized to perform %s: polkit sent a malformed answer (%s)",
                           q->action, g_strerror(-r));
                return 0;
        }
        if (authorized) {
                log_debug("polkit: %s authorized for %s", q->action,
                          sd_bus_message_get_sender(q->request));
                query_finish(q, true, NULL);
        } else if (challenge)
                query_deny(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                           "Interactive authentication is required to perform %s", q->action);
        else
                query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to perform %s",
                           q->action);
        return 0;
}

static int start_check_authorization(struct query *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *c = NULL;
        int r = sd_bus_message_new_method_call(q->owner->bus, &c, "org.freedesktop.PolicyKit1",
                                               "/org/freedesktop/PolicyKit1/Authority",
                                               "org.freedesktop.PolicyKit1.Authority",
                                               "CheckAuthorization");
        if (r < 0)
                return r;
        /* subject, action id, details, flags (1 = AllowUserInteraction),
         * cancellation id */
        r = sd_bus_message_append(c, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(q->request), q->action, 0,
                                  (uint32_t)(q->interactive ? 1 : 0), "");
        if (r < 0)
                return r;
        return sd_bus_call_async(q->owner->bus, &q->slot, c, on_check_authorization, q,
                                 q->interactive ? INTERACTIVE_TIMEOUT_USEC : CHECK_TIMEOUT_USEC);
}

static int on_unix_user(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct query *q = userdata;
        q->slot = sd_bus_slot_unref(q->slot);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t uid;
        int r = e ? -EIO : sd_bus_message_read(reply, "u", &uid);
        if (r < 0) {
                query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                           "Not authorized to perform %s: cannot tell the caller's user (%s)",
                           q->action, e ? e->message : g_strerror(-r));
                return 0;
        }
        if (uid == 0) {
                query_finish(q, true, NULL);
                return 0;
        }
        r = start_check_authorization(q);
        if (r < 0)
                query_deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                           "Not authorized to perform %s: cannot ask polkit (%s)", q->action,
                           g_strerror(-r));
        return 0;
}

/* ---- the check ----------------------------------------------------------- */

int lbd_polkit_check_async(struct lbd_polkit *p, sd_bus_message *call, const char *action,
                           sd_bus_error *error) {
        struct query *q = g_hash_table_lookup(p->queries, call);
        if (q) {
                if (!q->done)
                        return 0;
                if (strcmp(q->action, action) != 0) {
                        sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                          "Not authorized to perform %s: the call was "
                                          "authorized for %s",
                                          action, q->action);
                        return -ESTALE;
                }
                if (q->authorized)
                        return 1;
                return sd_bus_error_copy(error, &q->error);
        }

        /* On a bus every call has a sender: the bus driver sets it. */
        const char *sender = sd_bus_message_get_sender(call);
        if (!sender)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized to perform %s: the call has no sender",
                                         action);
        if (g_hash_table_size(p->queries) >= MAX_PENDING)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorizations are pending; try again later");
        int interactive = sd_bus_message_get_allow_interactive_authorization(call);
        if (interactive < 0)
                return interactive;

        q = g_new0(struct query, 1);
        q->request = sd_bus_message_ref(call);
        q->action = g_strdup(action);
        q->interactive = interactive > 0;
        /* The bus driver knows the uid the caller connected with (its
         * SO_PEERCRED). Asked asynchronously, unlike
         * sd_bus_query_sender_creds(), which would block on dbus-daemon. */
        int r = sd_bus_call_method_async(p->bus, &q->slot, "org.freedesktop.DBus",
                                         "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                         "GetConnectionUnixUser", on_unix_user, q, "s", sender);
        if (r < 0) {
                query_free(q);
                return r;
        }
        q->owner = p;
        g_hash_table_insert(p->queries, call, q);
        return 0;
}
