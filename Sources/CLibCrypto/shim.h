// OpenSSL's libcrypto, as Chorus uses it: the EVP interface for AES-256-GCM and RAND_bytes
// for keys and nonces. Nothing here is implemented by Chorus; the system library does it.
#include <openssl/evp.h>
#include <openssl/rand.h>
