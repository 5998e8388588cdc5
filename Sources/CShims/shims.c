#include "cshims.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cshim_libusb_set_log_level(libusb_context *ctx, int level) {
    return libusb_set_option(ctx, LIBUSB_OPTION_LOG_LEVEL, level);
}

// MARK: libcurl, loaded on first use

static struct {
    const char *error;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    curl_version_info_data *(*version_info)(CURLversion);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_mime *(*mime_init)(CURL *);
    curl_mimepart *(*mime_addpart)(curl_mime *);
    CURLcode (*mime_name)(curl_mimepart *, const char *);
    CURLcode (*mime_data)(curl_mimepart *, const char *, size_t);
    CURLcode (*mime_filename)(curl_mimepart *, const char *);
    CURLcode (*mime_type)(curl_mimepart *, const char *);
    void (*mime_free)(curl_mime *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
} curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load_once(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *message = dlerror();
        curl.error = message ? strdup(message) : "libcurl.so.4 could not be loaded";
        return;
    }
#define LOAD(field, name) \
    if (!(*(void **)(&curl.field) = dlsym(library, name))) { curl.error = "libcurl.so.4 lacks " name; return; }
    LOAD(global_init, "curl_global_init")
    LOAD(easy_init, "curl_easy_init")
    LOAD(easy_cleanup, "curl_easy_cleanup")
    LOAD(easy_perform, "curl_easy_perform")
    LOAD(easy_strerror, "curl_easy_strerror")
    LOAD(version_info, "curl_version_info")
    LOAD(slist_append, "curl_slist_append")
    LOAD(slist_free_all, "curl_slist_free_all")
    LOAD(mime_init, "curl_mime_init")
    LOAD(mime_addpart, "curl_mime_addpart")
    LOAD(mime_name, "curl_mime_name")
    LOAD(mime_data, "curl_mime_data")
    LOAD(mime_filename, "curl_mime_filename")
    LOAD(mime_type, "curl_mime_type")
    LOAD(mime_free, "curl_mime_free")
    LOAD(easy_setopt, "curl_easy_setopt")
    LOAD(easy_getinfo, "curl_easy_getinfo")
#undef LOAD
}

const char *cshim_curl_load(void) {
    pthread_once(&curl_once, curl_load_once);
    return curl.error;
}

#define LOADED(fallback) if (cshim_curl_load()) return fallback;

CURLcode cshim_curl_global_init(long flags) { LOADED(CURLE_FAILED_INIT) return curl.global_init(flags); }
CURL *cshim_curl_easy_init(void) { LOADED(NULL) return curl.easy_init(); }
void cshim_curl_easy_cleanup(CURL *handle) { if (!cshim_curl_load()) curl.easy_cleanup(handle); }
CURLcode cshim_curl_easy_perform(CURL *handle) { LOADED(CURLE_FAILED_INIT) return curl.easy_perform(handle); }
const char *cshim_curl_easy_strerror(CURLcode code) { LOADED("libcurl is not loaded") return curl.easy_strerror(code); }
curl_version_info_data *cshim_curl_version_info(CURLversion age) { LOADED(NULL) return curl.version_info(age); }
struct curl_slist *cshim_curl_slist_append(struct curl_slist *list, const char *text) { LOADED(NULL) return curl.slist_append(list, text); }
void cshim_curl_slist_free_all(struct curl_slist *list) { if (!cshim_curl_load()) curl.slist_free_all(list); }
curl_mime *cshim_curl_mime_init(CURL *handle) { LOADED(NULL) return curl.mime_init(handle); }
curl_mimepart *cshim_curl_mime_addpart(curl_mime *mime) { LOADED(NULL) return curl.mime_addpart(mime); }
CURLcode cshim_curl_mime_name(curl_mimepart *part, const char *name) { LOADED(CURLE_FAILED_INIT) return curl.mime_name(part, name); }
CURLcode cshim_curl_mime_data(curl_mimepart *part, const char *data, size_t size) { LOADED(CURLE_FAILED_INIT) return curl.mime_data(part, data, size); }
CURLcode cshim_curl_mime_filename(curl_mimepart *part, const char *name) { LOADED(CURLE_FAILED_INIT) return curl.mime_filename(part, name); }
CURLcode cshim_curl_mime_type(curl_mimepart *part, const char *type) { LOADED(CURLE_FAILED_INIT) return curl.mime_type(part, type); }
void cshim_curl_mime_free(curl_mime *mime) { if (!cshim_curl_load()) curl.mime_free(mime); }

CURLcode cshim_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    LOADED(CURLE_FAILED_INIT)
    return curl.easy_setopt(handle, option, value);
}

CURLcode cshim_curl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    LOADED(CURLE_FAILED_INIT)
    return curl.easy_setopt(handle, option, value);
}

CURLcode cshim_curl_easy_setopt_write_function(
    CURL *handle, CURLoption option, size_t (*callback)(char *, size_t, size_t, void *)) {
    LOADED(CURLE_FAILED_INIT)
    return curl.easy_setopt(handle, option, callback);
}

CURLcode cshim_curl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    LOADED(CURLE_FAILED_INIT)
    return curl.easy_getinfo(handle, info, value);
}

CURLcode cshim_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    LOADED(CURLE_FAILED_INIT)
    return curl.easy_getinfo(handle, info, value);
}

void cshim_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
