/* SPDX-License-Identifier: Apache-2.0 */
/* Credential checks for the handshake, the websocket and /api, and the API keys of the hub's
 * other users. The hub has one key (FTRACK_API_KEY or DIR/api-key); every other user's key is
 * derived from it (HMAC-SHA256 of the username), so each seeded user has a key of its own
 * that the hub need not store, and knowing one user's key tells nothing of another's. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "server_internal.h"

/* Comparing digests keeps the time independent of where (and whether) the lengths differ. */
static bool same_secret(const char *want, const char *got)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)want, strlen(want), a);
    SHA256((const unsigned char *)got, strlen(got), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

void fhub_auth_user_key(const char *hub_key, const char *username, char out[FHUB_USER_KEY_LEN])
{
    static const char label[] = "ftrack-host user key:";
    unsigned char msg[512], mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t ulen = strnlen(username, sizeof(msg) - sizeof(label));
    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, username, ulen);
    out[0] = '\0';
    if (!HMAC(EVP_sha256(), hub_key, (int)strlen(hub_key), msg, sizeof(label) - 1 + ulen, mac, &n))
        return;
    for (unsigned int i = 0; i < n && 2 * i + 2 < FHUB_USER_KEY_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    OPENSSL_cleanse(mac, sizeof(mac));
}

bool fhub_auth_check(const char *want_user, const char *want_key, const char *user, const char *key)
{
    if (!want_user || !want_key || !user || !key || !*want_key)
        return false;
    if (same_secret(want_user, user))
        return same_secret(want_key, key);
    char derived[FHUB_USER_KEY_LEN];
    fhub_auth_user_key(want_key, user, derived);
    bool ok = derived[0] && same_secret(derived, key);
    OPENSSL_cleanse(derived, sizeof(derived));
    return ok;
}
