/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate authorities and proxies from the environment: see netenv.h. */
#include "common/netenv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/internal.h"

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *fti_ca_file(const char *given)
{
    if (given && *given)
        return given;
    static const char *const names[] = {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = env_value(names[i]);
        if (v)
            return v;
    }
    return NULL;
}

static bool no_proxy_matches(const char *list, const char *host)
{
    char *copy = fti_strdup(list);
    if (!copy)
        return false;
    bool hit = false;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok && !hit; tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "*") == 0) {
            hit = true;
            break;
        }
        while (*tok == '.' || *tok == '*')
            tok++;
        size_t tl = strlen(tok), hl = strlen(host);
        if (tl == 0 || tl > hl)
            continue;
        if (strcasecmp(host + hl - tl, tok) == 0 && (tl == hl || host[hl - tl - 1] == '.'))
            hit = true;
    }
    free(copy);
    return hit;
}

char *fti_proxy_for_host(bool secure, const char *host)
{
    const char *v = secure ? env_value("https_proxy") : env_value("http_proxy");
    if (!v)
        v = secure ? env_value("HTTPS_PROXY") : env_value("HTTP_PROXY");
    if (!v)
        return NULL;
    const char *np = env_value("no_proxy");
    if (!np)
        np = env_value("NO_PROXY");
    if (np && host && no_proxy_matches(np, host))
        return NULL;
    return fti_strdup(v);
}

void fti_curl_use_proxy(CURL *curl, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(u, CURLUPART_HOST, &host, 0);
    }
    char *bare = host;
    size_t hl = host ? strlen(host) : 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        bare = host + 1;
    }
    char *proxy = fti_proxy_for_host(scheme && strcmp(scheme, "https") == 0, bare);
    /* "" means no proxy at all, even where curl would read one from the environment. */
    curl_easy_setopt(curl, CURLOPT_PROXY, proxy ? proxy : "");
    fti_free_secret(proxy);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
}

void fti_free_secret(char *text)
{
    if (!text)
        return;
    explicit_bzero(text, strlen(text));
    free(text);
}
