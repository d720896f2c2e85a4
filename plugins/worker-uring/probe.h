/* SPDX-License-Identifier: MIT */
/*
 * Whether this kernel, its settings and this process's confinement let the
 * uring model run: tried once in the master when the plugin loads (init),
 * so that a configuration selecting it is refused with the reason instead
 * of workers failing one after another.
 */
#pragma once

#include "lbd-plugin.h"

int uring_probe(const struct lbd_host *host, void **plugin_data);
