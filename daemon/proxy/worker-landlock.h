/* SPDX-License-Identifier: MIT */
/*
 * Landlock for the workers: a worker may reach nothing of the filesystem
 * but the directories of the log files it reopens at USR1 (write to files
 * that exist there: the master created them), may bind no TCP port and,
 * where the kernel can scope them (ABI 6), may neither signal a process
 * outside its own domain (the master) nor connect to an abstract unix
 * socket. Connecting to a unix-socket backend by path is not a filesystem
 * access Landlock restricts, so configured unix backends keep working,
 * added ones too.
 *
 * Best effort, as the kernel documentation asks: every right the running
 * kernel knows is handled, and a kernel without Landlock (too old, or not
 * in lsm= at boot) is the master's to say once (lbd_landlock_abi()); the
 * seccomp filter confines the workers there alone.
 */
#pragma once

#include <stddef.h>

/* The Landlock ABI version of the running kernel (1 or more), or a
 * negative errno: -ENOSYS (not built in) or -EOPNOTSUPP (disabled). */
int lbd_landlock_abi(void);

/* Restrict this process (and the threads it makes from now on) to writing
 * files that exist under write_dirs. abi is lbd_landlock_abi()'s answer;
 * does nothing for a negative one. Needs no_new_privs. 0 or a negative
 * errno; logs nothing. */
int lbd_worker_landlock_apply(int abi, const char *const *write_dirs, size_t n_write_dirs);
