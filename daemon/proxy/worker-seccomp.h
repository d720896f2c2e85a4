/* SPDX-License-Identifier: MIT */
/*
 * The workers' system call allow-list (libseccomp). A worker parses
 * untrusted traffic and shares the master's uid when the master is not
 * root, so what it may ask the kernel is what serving needs and nothing
 * else: reading and writing the sockets it has, accepting, connecting to
 * backends (AF_INET, AF_INET6, AF_UNIX sockets only), polling, pipes for
 * splice(), memory, time, threads (clone with CLONE_THREAD; clone3 says
 * ENOSYS so that glibc falls back to clone, whose flags a filter can see),
 * signals to itself (kill and tgkill only with its own pid), and opening a
 * file only for appending to it without creating or truncating it (the
 * log files at USR1; Landlock decides which). Opening for reading answers
 * EACCES (libraries probe /proc and /sys; a worker reads no file).
 *
 * Anything else (execve, ptrace, process_vm_writev, bind, opening for
 * writing otherwise, a signal to another process, ...) kills the worker
 * (SECCOMP_RET_KILL_PROCESS): the arbiter sees it die of SIGSYS and says
 * so. A worker model that needs more (io_uring) names it in its
 * lbd_worker_ops.extra_syscalls.
 */
#pragma once

/* Whether this process can load such a filter: 0, or -EOPNOTSUPP where
 * seccomp() or SECCOMP_RET_KILL_PROCESS is missing (an old kernel,
 * valgrind, a system call filter around lbd that refuses seccomp()). For
 * the master, before it forks workers that would fail. Logs nothing. */
int lbd_worker_seccomp_probe(void);

/* Load the filter for this process (threads made later inherit it). extra
 * is NULL or a NULL-terminated list of system call names to allow too.
 * Needs no_new_privs. 0, -EINVAL with *unknown set to a name the kernel
 * headers do not know, or a negative errno; logs nothing. */
int lbd_worker_seccomp_apply(const char *const *extra, const char **unknown);
