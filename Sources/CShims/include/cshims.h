// What Swift cannot call directly: C variadic functions. Each shim fixes the argument type.
// Prefix: cshim_. Keep this file small (house style: < 150 lines for the whole target).
#ifndef STATION_CSHIMS_H
#define STATION_CSHIMS_H

#include <libusb-1.0/libusb.h>
#include <curl/curl.h>

/// libusb_set_option(ctx, LIBUSB_OPTION_LOG_LEVEL, level): the option call is variadic.
int cshim_libusb_set_log_level(libusb_context *ctx, int level);

// libcurl is loaded on first use (dlopen of libcurl.so.4), not linked: linking it makes
// every station command load its thirty-odd libraries at start-up (about 0.2 s in the lab VM)
// though only the cloud sync uses it. Every curl call goes through these wrappers.

/// Loads libcurl once; NULL when it is loaded, else the loader's message.
const char *cshim_curl_load(void);
CURLcode cshim_curl_global_init(long flags);
CURL *cshim_curl_easy_init(void);
void cshim_curl_easy_cleanup(CURL *handle);
CURLcode cshim_curl_easy_perform(CURL *handle);
const char *cshim_curl_easy_strerror(CURLcode code);
curl_version_info_data *cshim_curl_version_info(CURLversion age);
struct curl_slist *cshim_curl_slist_append(struct curl_slist *list, const char *text);
void cshim_curl_slist_free_all(struct curl_slist *list);
curl_mime *cshim_curl_mime_init(CURL *handle);
curl_mimepart *cshim_curl_mime_addpart(curl_mime *mime);
CURLcode cshim_curl_mime_name(curl_mimepart *part, const char *name);
CURLcode cshim_curl_mime_data(curl_mimepart *part, const char *data, size_t size);
CURLcode cshim_curl_mime_filename(curl_mimepart *part, const char *name);
CURLcode cshim_curl_mime_type(curl_mimepart *part, const char *type);
void cshim_curl_mime_free(curl_mime *mime);

/// curl_easy_setopt with a long argument (CURLOPT_TIMEOUT_MS, CURLOPT_SSL_VERIFYPEER, ...).
CURLcode cshim_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// curl_easy_setopt with a pointer argument (strings, slists, callbacks' user data).
CURLcode cshim_curl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
/// curl_easy_setopt with a write/header callback.
CURLcode cshim_curl_easy_setopt_write_function(
    CURL *handle, CURLoption option, size_t (*callback)(char *, size_t, size_t, void *));
/// curl_easy_getinfo for a string result (CURLINFO_CAINFO, CURLINFO_EFFECTIVE_URL, ...).
CURLcode cshim_curl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);
/// curl_easy_getinfo for a long result (CURLINFO_RESPONSE_CODE, ...).
CURLcode cshim_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);

/// Raw 8N1 at any baud rate through termios2 (BOTHER); 0 or -errno.
int cshim_tty_configure(int fd, unsigned int baud);

/// setvbuf(stdout, NULL, _IOLBF, 0): Swift 6 cannot name the global `stdout` safely.
void cshim_stdout_line_buffered(void);


/// Grabs (grab != 0) or releases an evdev input device (EVIOCGRAB): while grabbed, its key
/// presses reach only this descriptor, not the console or a terminal. 0 or -errno.
int cshim_evdev_grab(int fd, int grab);

/// A netlink socket bound to the kernel's uevent group (NETLINK_KOBJECT_UEVENT, group 1):
/// device arrivals and departures as the kernel announces them, with or without udevd.
/// The descriptor, or -errno. (`struct sockaddr_nl` is not in Swift's Glibc.)
int cshim_uevent_open(void);
/// Waits up to timeout_ms for one uevent from the kernel: its length, 0 on timeout (or a
/// message dropped: not from the kernel, or truncated), -ENOBUFS when the kernel dropped
/// messages because the buffer was full (rescan), other -errno on failure.
long cshim_uevent_receive(int fd, void *buffer, unsigned long capacity, int timeout_ms);

#endif
