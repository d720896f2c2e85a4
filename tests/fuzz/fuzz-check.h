/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: a broken promise is an abort(), which
 * libFuzzer reports as a crash and the corpus replay as a failed test. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry point, or replay-main.c's callee. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The longest error message a target accepts, whatever the input: every
 * echoed value is a bounded prefix (common/quote.h). */
#define FUZZ_REASON_MAX 4096

#define check(cond)                                                             \
        do {                                                                    \
                if (!(cond)) {                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n",            \
                                __FILE__, __LINE__, #cond);                     \
                        abort();                                                \
                }                                                               \
        } while (0)
