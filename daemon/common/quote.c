/* SPDX-License-Identifier: MIT */
#include "quote.h"

#include <stdio.h>
#include <string.h>

const char *lbd_quote_n(char buf[LBD_QUOTE_SIZE], const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        buf[o++] = '\'';
        size_t shown = len < LBD_QUOTE_PREFIX ? len : LBD_QUOTE_PREFIX;
        for (size_t i = 0; i < shown; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
                        buf[o++] = (char)c;
                } else {
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 0xf];
                }
        }
        if (shown < len)
                snprintf(buf + o, LBD_QUOTE_SIZE - o, "...' (%zu bytes)", len);
        else
                snprintf(buf + o, LBD_QUOTE_SIZE - o, "'");
        return buf;
}

const char *lbd_quote(char buf[LBD_QUOTE_SIZE], const char *s) {
        if (!s) {
                snprintf(buf, LBD_QUOTE_SIZE, "(null)");
                return buf;
        }
        return lbd_quote_n(buf, s, strlen(s));
}
