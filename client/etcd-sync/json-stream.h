/* SPDX-License-Identifier: MIT */
/*
 * etcd's JSON gateway streams a watch as one JSON object after another on
 * one HTTP response. This splits bytes, as they arrive in any pieces, into
 * whole top-level objects (by brace depth outside strings), whatever
 * separates them.
 */
#pragma once

#include <glib.h>

#define LBD_JSON_STREAM_MAX (16 * 1024 * 1024) /* one object at most */

typedef struct {
        GString *buf; /* the object being read */
        int depth;    /* of { and [ outside strings */
        gboolean in_string, escaped;
} LbdJsonStream;

void lbd_json_stream_init(LbdJsonStream *s);
void lbd_json_stream_clear(LbdJsonStream *s);

/* Feed len bytes; each complete object is added to objects (g_free'd
 * strings). FALSE when an object would exceed LBD_JSON_STREAM_MAX or the
 * stream is not a sequence of objects (then the stream must be dropped). */
gboolean lbd_json_stream_feed(LbdJsonStream *s, const char *data, gsize len, GPtrArray *objects);
