/* SPDX-License-Identifier: MIT */
#include "json-stream.h"

void lbd_json_stream_init(LbdJsonStream *s) {
        *s = (LbdJsonStream){.buf = g_string_new(NULL)};
}

void lbd_json_stream_clear(LbdJsonStream *s) {
        if (s->buf)
                g_string_free(s->buf, TRUE);
        *s = (LbdJsonStream){0};
}

gboolean lbd_json_stream_feed(LbdJsonStream *s, const char *data, gsize len, GPtrArray *objects) {
        for (gsize i = 0; i < len; i++) {
                char c = data[i];
                if (s->depth == 0) {
                        /* Between objects: whitespace only. */
                        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                                continue;
                        if (c != '{')
                                return FALSE;
                }
                if (s->buf->len >= LBD_JSON_STREAM_MAX)
                        return FALSE;
                g_string_append_c(s->buf, c);
                if (s->in_string) {
                        if (s->escaped)
                                s->escaped = FALSE;
                        else if (c == '\\')
                                s->escaped = TRUE;
                        else if (c == '"')
                                s->in_string = FALSE;
                        continue;
                }
                if (c == '"') {
                        s->in_string = TRUE;
                } else if (c == '{' || c == '[') {
                        s->depth++;
                } else if (c == '}' || c == ']') {
                        if (--s->depth == 0) {
                                g_ptr_array_add(objects, g_strndup(s->buf->str, s->buf->len));
                                g_string_truncate(s->buf, 0);
                        }
                }
        }
        return TRUE;
}
