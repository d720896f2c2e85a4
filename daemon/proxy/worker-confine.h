/* SPDX-License-Identifier: MIT */
/*
 * A worker confines itself before it reads a byte of traffic, after it
 * took its identity (worker-identity.h) and set no_new_privs: it drops
 * whatever capabilities it still has (the master's CAP_NET_BIND_SERVICE
 * when the master runs as an unprivileged user), takes a Landlock ruleset
 * (worker-landlock.h) and loads the seccomp allow-list (worker-seccomp.h).
 * Plain code from here on, signal handlers included, runs confined.
 */
#pragma once

struct lbd_plugin;

/* landlock_abi: lbd_landlock_abi() as the master found it. model: the
 * worker plugin about to run, for the system calls it adds. 0 or a
 * negative errno, logged (the worker then exits). */
int lbd_worker_confine(int landlock_abi, const struct lbd_plugin *model);
