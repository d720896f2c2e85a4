/* SPDX-License-Identifier: MIT */
#include "event-glue.h"

#include "log.h"

struct event_source {
        GSource source;
        sd_event *event;
        gpointer tag; /* from g_source_add_unix_fd() */
};

static gboolean event_prepare(GSource *source, gint *timeout) {
        struct event_source *s = (struct event_source *)source;
        /* The epoll fd of sd-event covers its timers too (timerfd), so GLib
         * need not wake us on a timeout of its own. */
        *timeout = -1;
        return sd_event_prepare(s->event) > 0;
}

static gboolean event_check(GSource *source) {
        struct event_source *s = (struct event_source *)source;
        return sd_event_wait(s->event, 0) > 0;
}

static gboolean event_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
        struct event_source *s = (struct event_source *)source;
        int r = sd_event_dispatch(s->event);
        if (r < 0) {
                log_error_errno(r, "event loop failed: %m");
                return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
}

static void event_finalize(GSource *source) {
        struct event_source *s = (struct event_source *)source;
        s->event = sd_event_unref(s->event);
}

static GSourceFuncs event_funcs = {
        .prepare = event_prepare,
        .check = event_check,
        .dispatch = event_dispatch,
        .finalize = event_finalize,
};

GSource *lbd_event_source_new(sd_event *event) {
        GSource *source = g_source_new(&event_funcs, sizeof(struct event_source));
        struct event_source *s = (struct event_source *)source;
        s->event = sd_event_ref(event);
        s->tag = g_source_add_unix_fd(source, sd_event_get_fd(event), G_IO_IN);
        g_source_set_name(source, "sd-event");
        return source;
}
