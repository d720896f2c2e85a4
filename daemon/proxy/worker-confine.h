/* SPDX-License-Identifier: MIT */
/*
 * A worker confines itself before it reads a byte of traffic, after it
 * took its identity (worker-identity.h) and set no_new_privs: it drops
 * whatever capabilities it still has (the master's CAP_NET_BIND_SERVICE
 * when the master runs as an unprivileged user), takes a Landlock ruleset
 * (worker-landlock.h) and loads the seccomp allow-list (worker-seccomp.h).
 * It allocates nothing (see worker-seccomp.h for why).
 * Plain code from here on, signal handlers included, runs confined.
 */
#pragma once

struct lbd_seccomp_program;

/* landlock_abi: lbd_landlock_abi() as the master found it. seccomp: the
 * program the master built for this worker's generation (this process's
 * copy: patched here). 0 or a negative errno, logged (the worker then
 * exits). The master has read the time zone (tzset()) before the fork: a
 * confined worker can open no file. */
int lbd_worker_confine(int landlock_abi, struct lbd_seccomp_program *seccomp);
