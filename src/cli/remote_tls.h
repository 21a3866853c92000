/*
 * src/cli/remote_tls.h: what hexctl says when it does not trust the API's
 * certificate: the names the certificate holds, the name that was asked
 * for, and which check failed (its CA or its names), so that the hint
 * fits.  remote.c calls it on CURLE_PEER_FAILED_VERIFICATION.
 */
#ifndef CLI_REMOTE_TLS_H
#define CLI_REMOTE_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* Where hexgated keeps the CA clients pin (its default state_dir). */
#define REMOTE_TLS_CA_DEFAULT	"/var/lib/hexgate/ca.crt"

/*
 * url was refused with cacert (NULL: the system's CAs); errbuf is curl's
 * reason.  Looks at the server's certificate over two more handshakes
 * that check less, and send nothing: one checks nothing, only to read the
 * names; one checks the CA and not the names.  Prints to stderr the
 * reason, the names, and what to do.
 */
void remote_tls_explain(const char *url, const char *cacert,
    const char *errbuf);

/*
 * The part that reads what the server sent, fuzzed by
 * tests/fuzz/fuzz_remote_tls.c.  san is a subjectAltName as libcurl's
 * certificate information spells it ("DNS:a, IP Address:192.0.2.1").
 * Writes the names into out as "DNS:a, IP:192.0.2.1" (bytes that are not
 * printable ASCII become '?'; cut short with "..." when out is full) and
 * returns whether one of them is host: the same address, or the same DNS
 * name without regard to case, "*.example" standing for one label.
 */
bool remote_tls_names(const char *san, const char *host, char *out,
    size_t out_len);

#endif /* CLI_REMOTE_TLS_H */
