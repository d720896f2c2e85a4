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

struct sock_filter;

/* The filter as BPF, built by the master for one generation's workers and
 * installed by each worker after the fork. Built before the fork because
 * a worker must not allocate: the master has threads (GLib's, libnm's),
 * and an allocator lock one of them held at the fork stays held in the
 * child (AddressSanitizer's allocator does not reset its locks at fork).
 * The worker's own pid, which kill and tgkill are compared with, is known
 * only in the child: the program carries a placeholder there, patched in
 * the child's copy of the pages. */
struct lbd_seccomp_program {
        struct sock_filter *insns; /* malloc()ed */
        unsigned short len;
};

/* Build the program: the allow-list, plus extra (NULL or a NULL-terminated
 * list of system call names a worker model adds). 0; -EOPNOTSUPP where
 * seccomp() or SECCOMP_RET_KILL_PROCESS is missing (an old kernel,
 * valgrind, a system call filter around lbd that refuses seccomp());
 * -EINVAL with *unknown set to a name the kernel headers do not know; or
 * another negative errno. Logs nothing. */
int lbd_worker_seccomp_build(const char *const *extra, const char **unknown,
                             struct lbd_seccomp_program *ret);
void lbd_worker_seccomp_program_done(struct lbd_seccomp_program *p);

/* In the worker: patch its pid into its copy of p and load it (threads
 * made later inherit it). Needs no_new_privs; allocates nothing. 0 or a
 * negative errno; logs nothing. */
int lbd_worker_seccomp_install(struct lbd_seccomp_program *p);
