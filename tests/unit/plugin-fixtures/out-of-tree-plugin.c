/* SPDX-License-Identifier: MIT */
/*
 * A plugin as a third party writes it: built outside lbd's tree by
 * test-out-of-tree-plugin.sh with nothing but
 *
 *     cc -shared -fPIC $(pkg-config --cflags lbd-plugin) -o out_of_tree.so out-of-tree-plugin.c
 *
 * against the installed header.
 */
#include <errno.h>

#include <lbd-plugin.h>

static int pick_first(void *data, const struct lbd_pick *pick) { return 0; }

static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = pick_first,
};

static const struct lbd_plugin_descriptor descriptor = {
        .abi_version = LBD_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct lbd_plugin_descriptor),
        .kind = LBD_PLUGIN_KIND_POLICY,
        .name = "out_of_tree",
        .description = "A policy built outside lbd's source tree",
        .ops = { .policy = &ops },
};

LBD_PLUGIN_DEFINE(descriptor);
