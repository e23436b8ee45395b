#include "CShims.h"
#include <sys/syscall.h>
#include <time.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <errno.h>

CURLcode tg_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_offt(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
CURLcode tg_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_data_callback(CURL *h, CURLoption o, tg_curl_data_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
CURLcode tg_curl_easy_setopt_opensocket(CURL *h, tg_curl_opensocket_callback cb, void *clientp) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, cb);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, clientp);
}
CURLcode tg_curl_easy_setopt_closesocket(CURL *h, tg_curl_closesocket_callback cb, void *clientp) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, cb);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, clientp);
}

CURLMcode tg_curl_multi_setopt_socket(CURLM *m, tg_curl_multi_socket_callback cb, void *userp) {
    CURLMcode rc = curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, cb);
    if (rc != CURLM_OK) return rc;
    return curl_multi_setopt(m, CURLMOPT_SOCKETDATA, userp);
}
CURLMcode tg_curl_multi_setopt_timer(CURLM *m, tg_curl_multi_timer_callback cb, void *userp) {
    CURLMcode rc = curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, cb);
    if (rc != CURLM_OK) return rc;
    return curl_multi_setopt(m, CURLMOPT_TIMERDATA, userp);
}
CURLMcode tg_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

curl_socket_t tg_curl_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }
size_t tg_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }

int tg_accept4(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
int tg_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
ssize_t tg_send(int fd, const void *buf, size_t len) { return send(fd, buf, len, MSG_NOSIGNAL); }
int tg_socket_cloexec(int domain, int type, int protocol) { return socket(domain, type | SOCK_CLOEXEC, protocol); }


int tg_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
int tg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}
/// Waits with epoll_wait (timeout_ns < 0: `timeout_ms`) or epoll_pwait2 (a nanosecond timeout),
/// retrying on EINTR, and copies the ready events' tokens and masks out of the packed structs.
static int wait_events(int epfd, uint64_t *tokens, uint32_t *masks, int max, int timeout_ms, int64_t timeout_ns) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    struct timespec timeout = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    int n;
    do {
        n = timeout_ns < 0 ? epoll_wait(epfd, events, max, timeout_ms)
                           : (int)syscall(SYS_epoll_pwait2, epfd, events, max, &timeout, NULL, 0);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        tokens[i] = events[i].data.u64;
        masks[i] = events[i].events;
    }
    return n;
}
int tg_epoll_wait(int epfd, uint64_t *tokens, uint32_t *masks, int max, int timeout_ms) {
    return wait_events(epfd, tokens, masks, max, timeout_ms, -1);
}
int tg_epoll_wait_ns(int epfd, uint64_t *tokens, uint32_t *masks, int max, int64_t timeout_ns) {
    int n = wait_events(epfd, tokens, masks, max, 0, timeout_ns < 0 ? 0 : timeout_ns);
    return n < 0 ? -errno : n;
}
int tg_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }
int tg_timerfd_arm(int fd, uint64_t first_ns, uint64_t interval_ns) {
    struct itimerspec spec;
    spec.it_value.tv_sec = (time_t)(first_ns / 1000000000ull);
    spec.it_value.tv_nsec = (long)(first_ns % 1000000000ull);
    spec.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ull);
    spec.it_interval.tv_nsec = (long)(interval_ns % 1000000000ull);
    return timerfd_settime(fd, 0, &spec, NULL);
}
int tg_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int tg_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}
uint64_t tg_timerfd_drain(int fd) {
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) != sizeof count) return 0;
    return count;
}

int tg_sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}

// MARK: peer identity

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_peer_cred(int fd, int32_t *pid, uint32_t *uid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    return 0;
}

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries.
static int unmap_v4(const struct sockaddr_in6 *in6, struct sockaddr_in *out) {
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(in6->sin6_addr.s6_addr, prefix, 12) != 0) return 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = in6->sin6_port;
    memcpy(&out->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
    return 1;
}

int tg_tcp_peer_uid(int fd, uint32_t *uid, uint64_t *inode) {
    struct sockaddr_storage local, peer;
    socklen_t llen = sizeof local, plen = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0) return -1;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) return -1;
    if (local.ss_family == AF_INET6) {
        struct sockaddr_in l4, p4;
        if (unmap_v4((struct sockaddr_in6 *)&local, &l4) && unmap_v4((struct sockaddr_in6 *)&peer, &p4)) {
            memcpy(&local, &l4, sizeof l4);
            memcpy(&peer, &p4, sizeof p4);
        }
    }
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = (uint8_t)local.ss_family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0u;
    msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    // The socket sought is the client's: its source is our peer, its destination is us.
    if (local.ss_family == AF_INET) {
        struct sockaddr_in *l = (struct sockaddr_in *)&local, *p = (struct sockaddr_in *)&peer;
        msg.req.id.idiag_sport = p->sin_port;
        msg.req.id.idiag_dport = l->sin_port;
        memcpy(msg.req.id.idiag_src, &p->sin_addr, 4);
        memcpy(msg.req.id.idiag_dst, &l->sin_addr, 4);
    } else if (local.ss_family == AF_INET6) {
        struct sockaddr_in6 *l = (struct sockaddr_in6 *)&local, *p = (struct sockaddr_in6 *)&peer;
        msg.req.id.idiag_sport = p->sin6_port;
        msg.req.id.idiag_dport = l->sin6_port;
        memcpy(msg.req.id.idiag_src, &p->sin6_addr, 16);
        memcpy(msg.req.id.idiag_dst, &l->sin6_addr, 16);
    } else {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return -1;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int e = errno;
        close(nl);
        errno = e;
        return -1;
    }
    long buf[2048];
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    int e = errno;
    close(nl);
    if (n < 0) {
        errno = e;
        return -1;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *err = NLMSG_DATA(h);
            errno = err->error ? -err->error : ENOENT;
            return -1;
        }
        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            struct inet_diag_msg *d = NLMSG_DATA(h);
            *uid = d->idiag_uid;
            *inode = d->idiag_inode;
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

int32_t tg_pid_of_socket_inode(uint64_t inode) {
    char want[64];
    snprintf(want, sizeof want, "socket:[%llu]", (unsigned long long)inode);
    DIR *proc = opendir("/proc");
    if (!proc) return -1;
    int32_t found = -1;
    struct dirent *p;
    while (found < 0 && (p = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(p->d_name, &end, 10);
        if (*end != 0 || pid <= 0) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        DIR *fds = opendir(path);
        if (!fds) continue;
        struct dirent *f;
        while ((f = readdir(fds)) != NULL) {
            if (f->d_name[0] == '.') continue;
            char link[96], target[64];
            snprintf(link, sizeof link, "/proc/%ld/fd/%s", pid, f->d_name);
            ssize_t len = readlink(link, target, sizeof target - 1);
            if (len <= 0) continue;
            target[len] = 0;
            if (strcmp(target, want) == 0) {
                found = (int32_t)pid;
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}
