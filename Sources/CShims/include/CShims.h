#ifndef TOLLGATE_CSHIMS_H
#define TOLLGATE_CSHIMS_H

// Fixed-type wrappers for C calls Swift cannot import (variadic functions, macros).
// Every exported symbol is prefixed tg_.

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

// MARK: curl easy options, one wrapper per argument kind.
CURLcode tg_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode tg_curl_easy_setopt_offt(CURL *handle, CURLoption option, curl_off_t value);
CURLcode tg_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode tg_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode tg_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
/// curl_easy_getinfo for a long (CURLINFO_RESPONSE_CODE).
CURLcode tg_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);

typedef size_t (*tg_curl_data_callback)(char *data, size_t size, size_t nitems, void *userdata);
CURLcode tg_curl_easy_setopt_data_callback(CURL *handle, CURLoption option, tg_curl_data_callback cb);

typedef curl_socket_t (*tg_curl_opensocket_callback)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
typedef int (*tg_curl_closesocket_callback)(void *clientp, curl_socket_t item);
CURLcode tg_curl_easy_setopt_opensocket(CURL *handle, tg_curl_opensocket_callback cb, void *clientp);
CURLcode tg_curl_easy_setopt_closesocket(CURL *handle, tg_curl_closesocket_callback cb, void *clientp);


// MARK: curl multi options.
typedef int (*tg_curl_multi_socket_callback)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*tg_curl_multi_timer_callback)(CURLM *multi, long timeout_ms, void *userp);
CURLMcode tg_curl_multi_setopt_socket(CURLM *multi, tg_curl_multi_socket_callback cb, void *userp);
CURLMcode tg_curl_multi_setopt_timer(CURLM *multi, tg_curl_multi_timer_callback cb, void *userp);
CURLMcode tg_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/// CURL_SOCKET_TIMEOUT as a value Swift can read.
curl_socket_t tg_curl_socket_timeout(void);
/// CURL_WRITEFUNC_PAUSE as a value Swift can read.
size_t tg_curl_writefunc_pause(void);

// MARK: sockets.
int tg_accept4(int fd);
int tg_set_nonblocking(int fd);
ssize_t tg_send(int fd, const void *buf, size_t len);
int tg_socket_cloexec(int domain, int type, int protocol);

// MARK: epoll and timerfd (the packed epoll_event stays on the C side).
/// A new epoll set (close-on-exec); -1 and errno on failure.
int tg_epoll_create(void);
/// EPOLL_CTL_ADD (op 1), DEL (2) or MOD (3) of `fd` with `events` and a 64-bit token.
int tg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait copying up to `max` ready events into `tokens` and `masks`.
int tg_epoll_wait(int epfd, uint64_t *tokens, uint32_t *masks, int max, int timeout_ms);
/// epoll_pwait2: like tg_epoll_wait, waiting at most `timeout_ns` nanoseconds; -errno on failure
/// (-ENOSYS before Linux 5.11).
int tg_epoll_wait_ns(int epfd, uint64_t *tokens, uint32_t *masks, int max, int64_t timeout_ns);
/// A non-blocking, close-on-exec monotonic timerfd.
int tg_timerfd_create(void);
/// Arms a timerfd to fire once after `first_ns` and then every `interval_ns` (0: once); 0/0 disarms.
int tg_timerfd_arm(int fd, uint64_t first_ns, uint64_t interval_ns);
/// Reads (clears) a timerfd's expiry count.
uint64_t tg_timerfd_drain(int fd);
/// A non-blocking, close-on-exec eventfd (read it with tg_timerfd_drain: both hold a uint64 count).
int tg_eventfd_create(void);
/// Adds 1 to an eventfd's count, making it readable.
int tg_eventfd_signal(int fd);

// MARK: who is at the other end of a connection (client identities).
/// SO_PEERCRED of a connected Unix socket: the peer's pid and uid. 0, or -1 and errno.
int tg_peer_cred(int fd, int32_t *pid, uint32_t *uid);
/// The owner uid and inode of the socket at the other end of a TCP connection on this machine,
/// asked of the kernel's socket table through the sock_diag netlink interface (an exact lookup
/// by both ends' addresses and ports). 0, or -1 and errno (ENOENT: no such local socket).
int tg_tcp_peer_uid(int fd, uint32_t *uid, uint64_t *inode);
/// The pid of a process holding the socket with `inode` open (a scan of /proc/PID/fd), or -1.
int32_t tg_pid_of_socket_inode(uint64_t inode);

// MARK: sqlite.
int tg_sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int length);

#endif
