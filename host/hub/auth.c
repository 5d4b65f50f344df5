/* Credential checks for the handshake, the websocket and /api. */
#include <string.h>
#include <openssl/crypto.h>
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

bool fth_auth_check(const char *want_user, const char *want_key, const char *user, const char *key)
{
    if (!want_user || !want_key || !user || !key || !*want_key)
        return false;
    bool user_ok = same_secret(want_user, user);
    bool key_ok = same_secret(want_key, key);
    return user_ok && key_ok;
}
