/* Timed waits against the faked clock, for `make test-future` (see the Makefile).
 *
 * libfaketime moves CLOCK_MONOTONIC along with the wall clock, but does not wrap
 * sem_clockwait, which CPython's timed lock waits (threading.Event.wait, queue.get)
 * call with an absolute deadline read from that faked clock: the kernel would wait
 * until the real clock reached it, a year later. This preload turns such a deadline
 * back into one on the real clock. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct timespec real_deadline(clockid_t clock, const struct timespec *faked) {
    struct timespec faked_now, real_now, out;
    clock_gettime(clock, &faked_now);                 /* through libfaketime */
    syscall(SYS_clock_gettime, clock, &real_now);     /* the kernel's own */
    long long ns = (long long)(faked->tv_sec - faked_now.tv_sec) * 1000000000LL
                 + (faked->tv_nsec - faked_now.tv_nsec);
    if (ns < 0) ns = 0;
    ns += real_now.tv_nsec;
    out.tv_sec = real_now.tv_sec + ns / 1000000000LL;
    out.tv_nsec = ns % 1000000000LL;
    return out;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime) {
    static int (*real)(sem_t *, clockid_t, const struct timespec *);
    if (!real) real = dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return real(sem, clock, &deadline);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime) {
    static int (*real)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    if (!real) real = dlsym(RTLD_NEXT, "pthread_cond_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return real(cond, mutex, clock, &deadline);
}
