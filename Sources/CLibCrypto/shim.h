// OpenSSL's libcrypto, as Chorus uses it: the EVP interface for AES-256-GCM and RAND_bytes
// for keys and nonces. Nothing here is implemented by Chorus; the system library does it.
// Only the declarations and constants come from here: the library is opened with dlopen when
// a key is first used (ChorusSeal/LibCrypto.swift), so a node without keys never maps it.
#include <openssl/evp.h>
#include <openssl/rand.h>
