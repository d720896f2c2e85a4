/* SPDX-License-Identifier: MIT */
#include "worker-seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

/* Allowed whatever their arguments. */
static const int allowed[] = {
        /* descriptors and sockets the worker has */
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
        SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(dup),
        SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(accept),
        SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(shutdown), SCMP_SYS(sendto),
        SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
        SCMP_SYS(recvmmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
        SCMP_SYS(getpeername), SCMP_SYS(splice), SCMP_SYS(pipe2),
        /* the journal's large messages go as a sealed memfd */
        SCMP_SYS(memfd_create),
        /* waiting */
        SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
        SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
        SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
        SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(pause),
        SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(restart_syscall),
        /* memory */
        SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
        SCMP_SYS(madvise),
        /* threads */
        SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
        SCMP_SYS(sched_getaffinity), SCMP_SYS(exit), SCMP_SYS(exit_group),
        /* signals, time, who am I */
        SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigsuspend), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack),
        SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
        SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
        SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getrandom),
        SCMP_SYS(getrusage), SCMP_SYS(uname),
};

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n_args,
               const struct scmp_arg_cmp *args) {
        return seccomp_rule_add_array(ctx, action, nr, n_args, args);
}

/* Argument comparisons, every field named (libseccomp's SCMP_A0() leaves
 * datum_b to the compiler, which clang warns about). */
static struct scmp_arg_cmp cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
                               scmp_datum_t b) {
        return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}
#define EQ(arg, v) cmp((arg), SCMP_CMP_EQ, (v), 0)
#define MASKED(arg, mask, v) cmp((arg), SCMP_CMP_MASKED_EQ, (mask), (v))

#define ADD(ctx, action, nr, ...)                                                     \
        add(ctx, action, nr, sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) /         \
                                     sizeof(struct scmp_arg_cmp),                     \
            (struct scmp_arg_cmp[]){ __VA_ARGS__ })

/* What kill and tgkill compare their pid with until the worker patches in
 * its own: a positive int that no other rule compares with, so every
 * comparison with it is one of theirs (libseccomp may share one between
 * the two; the build checks there is at least one). */
#define PID_PLACEHOLDER 0x4c424450u /* "LBDP" */

/* The rules that look at arguments. */
static int add_conditional(scmp_filter_ctx ctx) {
        const scmp_datum_t self = PID_PLACEHOLDER;
        /* Which bits of open()'s flags decide what the open may do. */
        const scmp_datum_t open_bits = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE |
                                       O_PATH;
        const scmp_datum_t read_bits = O_ACCMODE | O_CREAT | O_TRUNC | O_TMPFILE | O_PATH;
        int r;
        if ((r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), EQ(0, self))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), EQ(0, self))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
                     MASKED(0, CLONE_THREAD, CLONE_THREAD))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), EQ(0, AF_INET))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), EQ(0, AF_INET6))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), EQ(0, AF_UNIX))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair),
                     EQ(0, AF_UNIX))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat),
                     MASKED(2, open_bits, O_WRONLY | O_APPEND))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat),
                     MASKED(2, read_bits, O_RDONLY))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), EQ(1, FIONREAD))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), EQ(1, FIONBIO))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), EQ(1, TIOCOUTQ))) < 0 ||
            /* isatty() */
            (r = ADD(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl),
                     EQ(1, TCGETS))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), EQ(0, PR_SET_NAME))) < 0 ||
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), EQ(0, PR_GET_NAME))) < 0 ||
            /* reading a limit, never setting one */
            (r = ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), EQ(2, 0))) < 0)
                return r;
        return 0;
}

static bool is_pid_slot(const struct sock_filter *insn) {
        return insn->code == (BPF_JMP | BPF_JEQ | BPF_K) && insn->k == PID_PLACEHOLDER;
}

/* libseccomp writes the program to an fd only: a memfd, read back. */
static int export_program(scmp_filter_ctx ctx, struct lbd_seccomp_program *ret) {
        _cleanup_close_ int fd = memfd_create("lbd-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
            size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EPROTO;
        struct sock_filter *insns = malloc((size_t)size);
        if (!insns)
                return -ENOMEM;
        if (pread(fd, insns, (size_t)size, 0) != size) {
                free(insns);
                return -EIO;
        }
        unsigned short len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
        unsigned slots = 0;
        for (unsigned short i = 0; i < len; i++)
                slots += is_pid_slot(&insns[i]);
        if (slots == 0) {
                free(insns);
                return -EPROTO;
        }
        *ret = (struct lbd_seccomp_program){ .insns = insns, .len = len };
        return 0;
}

int lbd_worker_seccomp_build(const char *const *extra, const char **unknown,
                             struct lbd_seccomp_program *ret) {
        /* libseccomp refuses the action where the kernel cannot take it. */
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        if (!ctx)
                return -EOPNOTSUPP;
        /* A binary tree of system call numbers rather than a list: every
         * system call of a worker runs the filter. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        for (size_t i = 0; r >= 0 && i < sizeof allowed / sizeof allowed[0]; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
        if (r >= 0)
                r = add_conditional(ctx);
        for (const char *const *name = extra; r >= 0 && name && *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);
                if (nr == __NR_SCMP_ERROR) {
                        *unknown = *name;
                        r = -EINVAL;
                } else {
                        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                }
        }
        if (r >= 0)
                r = export_program(ctx, ret);
        seccomp_release(ctx);
        return r;
}

void lbd_worker_seccomp_program_done(struct lbd_seccomp_program *p) {
        free(p->insns);
        *p = (struct lbd_seccomp_program){ 0 };
}

int lbd_worker_seccomp_install(struct lbd_seccomp_program *p) {
        uint32_t self = (uint32_t)getpid();
        for (unsigned short i = 0; i < p->len; i++)
                if (is_pid_slot(&p->insns[i]))
                        p->insns[i].k = self;
        struct sock_fprog prog = { .len = p->len, .filter = p->insns };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}
