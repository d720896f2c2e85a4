/* SPDX-License-Identifier: MIT */
/*
 * The polkit gate (daemon/bus/polkit.c) in cmocka: lbd's side of a
 * direct D-Bus connection (a socketpair) serves one method whose handler
 * follows the gate's pattern; the test's side calls it as a caller named
 * ":1.42" would, and plays the bus driver (GetConnectionUnixUser) and
 * polkitd (CheckAuthorization) with the answers each case wants. Both
 * ends run on one thread; nothing blocks.
 *
 * What a caller sees is checked: the reply or the D-Bus error and its
 * message, whether polkit was asked and with what (subject, action,
 * AllowUserInteraction), and that no query is left behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "polkit.h"

#define ACTION "org.example.LoadBalancer.manage-services"
#define OTHER_ACTION "org.example.LoadBalancer.reload"
#define CALLER ":1.42"

enum polkit_answer {
        POLKIT_YES,
        POLKIT_NO,
        POLKIT_CHALLENGE,
        POLKIT_ABSENT,  /* ServiceUnknown: polkitd is not running */
        POLKIT_GARBAGE, /* an answer of the wrong type */
};

struct fx {
        sd_event *event;
        sd_bus *lbd;    /* the daemon's end */
        sd_bus *peer;   /* the test's end: caller, bus driver and polkitd */
        sd_bus_slot *vtable_slot;
        sd_bus_slot *driver_slot;
        struct lbd_polkit *polkit;

        uint32_t caller_uid;
        bool driver_silent; /* GetConnectionUnixUser never answered */
        enum polkit_answer answer;
        const char *second_action; /* the handler's action when called again */

        unsigned handler_calls;
        unsigned changes;      /* the handler went past the check */
        unsigned uid_queries;
        unsigned polkit_queries;
        char polkit_subject[64];
        char polkit_action[128];
        uint32_t polkit_flags;
};

/* ---- the daemon's end: a method guarded as every mutating method is ------ */

static int method_frob(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct fx *f = userdata;
        const char *action = f->handler_calls++ && f->second_action ? f->second_action : ACTION;
        int r = lbd_polkit_check_async(f->polkit, m, action, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */
        f->changes++;
        return sd_bus_reply_method_return(m, "s", "done");
}

static const sd_bus_vtable frob_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Frob", "", "s", method_frob, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- the test's end: the bus driver and polkitd -------------------------- */

static int peer_method(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct fx *f = userdata;
        const char *member = sd_bus_message_get_member(m);
        if (strcmp(member, "GetConnectionUnixUser") == 0) {
                f->uid_queries++;
                const char *name;
                assert_true(sd_bus_message_read(m, "s", &name) >= 0);
                assert_string_equal(name, CALLER);
                if (f->driver_silent)
                        return 1; /* never answers */
                return sd_bus_reply_method_return(m, "u", f->caller_uid);
        }
        assert_string_equal(member, "CheckAuthorization");
        f->polkit_queries++;
        const char *kind, *key, *name, *action, *cancel;
        assert_true(sd_bus_message_enter_container(m, 'r', "sa{sv}") >= 0);
        assert_true(sd_bus_message_read(m, "sa{sv}", &kind, 1, &key, "s", &name) >= 0);
        assert_string_equal(kind, "system-bus-name");
        assert_string_equal(key, "name");
        snprintf(f->polkit_subject, sizeof f->polkit_subject, "%s", name);
        assert_true(sd_bus_message_exit_container(m) >= 0);
        assert_true(sd_bus_message_read(m, "sa{ss}us", &action, 0, &f->polkit_flags, &cancel) >=
                    0);
        snprintf(f->polkit_action, sizeof f->polkit_action, "%s", action);
        switch (f->answer) {
        case POLKIT_YES:
        case POLKIT_NO:
        case POLKIT_CHALLENGE:
                return sd_bus_reply_method_return(m, "(bba{ss})", f->answer == POLKIT_YES,
                                                  f->answer == POLKIT_CHALLENGE, 0);
        case POLKIT_ABSENT:
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                                  "The name org.freedesktop.PolicyKit1 was not "
                                                  "provided by any .service files");
        case POLKIT_GARBAGE:
                return sd_bus_reply_method_return(m, "s", "yes, sure");
        }
        return -EINVAL;
}

/* Everything lbd sends to the driver or polkit arrives here (a direct
 * connection has no bus to route it). */
static int peer_filter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        const char *iface = sd_bus_message_get_interface(m);
        if (iface && (strcmp(iface, "org.freedesktop.DBus") == 0 ||
                      strcmp(iface, "org.freedesktop.PolicyKit1.Authority") == 0))
                return peer_method(m, userdata, error);
        return 0;
}

/* ---- setting up ------------------------------------------------------------ */

static struct fx *fx_new(void) {
        struct fx *f = calloc(1, sizeof *f);
        assert_non_null(f);
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
                         0);
        assert_true(sd_event_new(&f->event) >= 0);

        sd_id128_t id;
        assert_true(sd_id128_randomize(&id) >= 0);
        assert_true(sd_bus_new(&f->lbd) >= 0);
        assert_true(sd_bus_set_fd(f->lbd, sv[0], sv[0]) >= 0);
        assert_true(sd_bus_set_server(f->lbd, 1, id) >= 0);
        assert_true(sd_bus_set_anonymous(f->lbd, 1) >= 0);
        assert_true(sd_bus_start(f->lbd) >= 0);
        assert_true(sd_bus_attach_event(f->lbd, f->event, 0) >= 0);
        assert_true(sd_bus_add_object_vtable(f->lbd, &f->vtable_slot, "/test", "test.Gate",
                                             frob_vtable, f) >= 0);
        assert_int_equal(lbd_polkit_new(f->lbd, &f->polkit), 0);

        assert_true(sd_bus_new(&f->peer) >= 0);
        assert_true(sd_bus_set_fd(f->peer, sv[1], sv[1]) >= 0);
        assert_true(sd_bus_set_anonymous(f->peer, 1) >= 0);
        /* What the bus driver would stamp on the caller's messages. */
        assert_true(sd_bus_set_sender(f->peer, CALLER) >= 0);
        assert_true(sd_bus_start(f->peer) >= 0);
        assert_true(sd_bus_attach_event(f->peer, f->event, 0) >= 0);
        assert_true(sd_bus_add_filter(f->peer, &f->driver_slot, peer_filter, f) >= 0);
        f->caller_uid = 1000;
        return f;
}

static void fx_free(struct fx *f) {
        f->polkit = lbd_polkit_free(f->polkit);
        sd_bus_slot_unref(f->vtable_slot);
        sd_bus_slot_unref(f->driver_slot);
        sd_bus_flush_close_unref(f->peer);
        sd_bus_flush_close_unref(f->lbd);
        sd_event_unref(f->event);
        free(f);
}

struct call {
        bool done;
        bool ok;
        char error_name[128];
        char error_message[256];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct call *c = userdata;
        c->done = true;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        c->ok = !e;
        if (e) {
                snprintf(c->error_name, sizeof c->error_name, "%s", e->name);
                snprintf(c->error_message, sizeof c->error_message, "%s", e->message);
        }
        return 0;
}

/* Call Frob as the caller and run both ends until its answer. */
static void frob(struct fx *f, bool interactive, struct call *c, sd_bus_slot **slot) {
        sd_bus_message *m = NULL;
        assert_true(sd_bus_message_new_method_call(f->peer, &m, NULL, "/test", "test.Gate",
                                                   "Frob") >= 0);
        assert_true(sd_bus_message_set_allow_interactive_authorization(m, interactive) >= 0);
        assert_true(sd_bus_call_async(f->peer, slot, m, on_reply, c, 0) >= 0);
        sd_bus_message_unref(m);
}

static void run_until_done(struct fx *f, const struct call *c) {
        for (int i = 0; i < 2000 && !c->done; i++)
                assert_true(sd_event_run(f->event, 5 * 1000) >= 0);
        assert_true(c->done);
        /* The query goes in an idle pass after the second dispatch. */
        for (int i = 0; i < 20 && lbd_polkit_n_pending(f->polkit) > 0; i++)
                assert_true(sd_event_run(f->event, 1000) >= 0);
}

static void call_once(struct fx *f, bool interactive, struct call *c) {
        sd_bus_slot *slot = NULL;
        frob(f, interactive, c, &slot);
        run_until_done(f, c);
        sd_bus_slot_unref(slot);
        assert_int_equal(lbd_polkit_n_pending(f->polkit), 0);
}

/* ---- the cases ------------------------------------------------------------ */

/* root is authorized by its uid; polkit is not asked. */
static void test_root_without_polkit(void **state) {
        struct fx *f = fx_new();
        f->caller_uid = 0;
        f->answer = POLKIT_NO; /* would refuse, were it asked */
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_true(c.ok);
        assert_int_equal(f->changes, 1);
        assert_int_equal(f->uid_queries, 1);
        assert_int_equal(f->polkit_queries, 0);
        assert_int_equal(f->handler_calls, 2); /* asked, then resumed */
        fx_free(f);
}

/* Another user: polkit decides, asked for the caller's bus name and the
 * method's action; the handler changes only once authorized. */
static void test_user_authorized(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_YES;
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_true(c.ok);
        assert_int_equal(f->changes, 1);
        assert_int_equal(f->polkit_queries, 1);
        assert_string_equal(f->polkit_subject, CALLER);
        assert_string_equal(f->polkit_action, ACTION);
        assert_int_equal(f->polkit_flags, 0);
        fx_free(f);
}

static void test_user_refused(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_NO;
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_false(c.ok);
        assert_string_equal(c.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        assert_string_equal(c.error_message, "Not authorized to perform " ACTION);
        assert_int_equal(f->changes, 0);
        fx_free(f);
}

/* An interactive caller is passed on as AllowUserInteraction; a challenge
 * becomes InteractiveAuthorizationRequired. */
static void test_interactive_challenge(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_CHALLENGE;
        struct call c = { 0 };
        call_once(f, true, &c);
        assert_int_equal(f->polkit_flags, 1);
        assert_false(c.ok);
        assert_string_equal(c.error_name, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        assert_string_equal(c.error_message,
                            "Interactive authentication is required to perform " ACTION);
        assert_int_equal(f->changes, 0);
        fx_free(f);
}

/* polkitd not running, or answering nonsense: refused, saying why. */
static void test_polkit_absent(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_ABSENT;
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_false(c.ok);
        assert_string_equal(c.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        assert_non_null(strstr(c.error_message, "Not authorized to perform " ACTION
                                                ": polkit is not available"));
        assert_int_equal(f->changes, 0);
        fx_free(f);
}

static void test_polkit_garbage(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_GARBAGE;
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_false(c.ok);
        assert_string_equal(c.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        assert_non_null(strstr(c.error_message, "polkit sent a malformed answer"));
        assert_int_equal(f->changes, 0);
        fx_free(f);
}

/* A handler that asks for another action the second time is refused:
 * the verdict was for the first. */
static void test_other_action_is_stale(void **state) {
        struct fx *f = fx_new();
        f->answer = POLKIT_YES;
        f->second_action = OTHER_ACTION;
        struct call c = { 0 };
        call_once(f, false, &c);
        assert_false(c.ok);
        assert_string_equal(c.error_name, SD_BUS_ERROR_ACCESS_DENIED);
        assert_string_equal(c.error_message, "Not authorized to perform " OTHER_ACTION
                                             ": the call was authorized for " ACTION);
        assert_int_equal(f->changes, 0);
        fx_free(f);
}

/* Pending authorizations are bounded: with 1024 waiting (the driver never
 * answers), the next call is refused at once with LimitsExceeded, and
 * freeing the registry drops them all. */
static void test_pending_bound(void **state) {
        struct fx *f = fx_new();
        f->driver_silent = true;
        enum { N = 1024 };
        static struct call calls[N + 1];
        static sd_bus_slot *slots[N + 1];
        memset(calls, 0, sizeof calls);
        for (unsigned i = 0; i < N; i++)
                frob(f, false, &calls[i], &slots[i]);
        for (int i = 0; i < 5000 && f->uid_queries < N; i++)
                assert_true(sd_event_run(f->event, 5 * 1000) >= 0);
        assert_int_equal(f->uid_queries, N);
        assert_int_equal(lbd_polkit_n_pending(f->polkit), N);
        frob(f, false, &calls[N], &slots[N]);
        run_until_done(f, &calls[N]);
        assert_false(calls[N].ok);
        assert_string_equal(calls[N].error_name, SD_BUS_ERROR_LIMITS_EXCEEDED);
        assert_string_equal(calls[N].error_message,
                            "Too many authorizations are pending; try again later");
        assert_int_equal(lbd_polkit_n_pending(f->polkit), N);
        for (unsigned i = 0; i < N; i++)
                assert_false(calls[i].done);
        assert_int_equal(f->changes, 0);
        f->polkit = lbd_polkit_free(f->polkit);
        for (unsigned i = 0; i <= N; i++)
                sd_bus_slot_unref(slots[i]);
        fx_free(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_without_polkit),
                cmocka_unit_test(test_user_authorized),
                cmocka_unit_test(test_user_refused),
                cmocka_unit_test(test_interactive_challenge),
                cmocka_unit_test(test_polkit_absent),
                cmocka_unit_test(test_polkit_garbage),
                cmocka_unit_test(test_other_action_is_stale),
                cmocka_unit_test(test_pending_bound),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
