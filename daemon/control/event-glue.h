/* SPDX-License-Identifier: MIT */
/*
 * sd-event inside a GLib main loop.
 *
 * sd-event is the daemon's core loop: sd-bus and the polkit checks attach to
 * it. libnm needs a GLib main context. Both run on the master's one thread
 * because sd-event is wrapped as a single GSource polling sd_event_get_fd():
 * prepare → sd_event_prepare, check → sd_event_wait(0), dispatch →
 * sd_event_dispatch. Nothing here blocks.
 */
#pragma once

#include <glib.h>
#include <systemd/sd-event.h>

/* A GSource that runs `event`; it takes its own reference. Attach it with
 * g_source_attach(); destroying it releases the reference. */
GSource *lbd_event_source_new(sd_event *event);
