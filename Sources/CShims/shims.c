#include "CShims.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <errno.h>

CURLcode tg_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_offt(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
CURLcode tg_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
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
int tg_epoll_wait(int epfd, uint64_t *tokens, uint32_t *masks, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n;
    do { n = epoll_wait(epfd, events, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        tokens[i] = events[i].data.u64;
        masks[i] = events[i].events;
    }
    return n;
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
uint64_t tg_timerfd_drain(int fd) {
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) != sizeof count) return 0;
    return count;
}

int tg_sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}
