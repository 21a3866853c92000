/*
 * src/mgmt/swanctl.h: strongSwan's swanctl.conf into hexgate's JSON, for
 * moving a strongSwan gateway to hexgate ("hexctl ipsec import FILE").
 *
 * The file is read in strongSwan's settings syntax: "name { ... }"
 * sections, "key = value" to the end of the line, '#' comments, quoted
 * strings with \" \\ \n \t \r escapes, a section or key given twice
 * merged as strongSwan merges it (the later value wins).  "include" and
 * section references ("name : other { }") are refused: what they would
 * bring in is not in the text.
 *
 * Of the result, the connections and secrets sections are converted key
 * for key into {"connections": {NAME: {...}}, "secrets": {NAME: {...}}}
 * (docs/ipsec-ike.md has the table): comma lists become arrays, ports and
 * the version numbers, yes/no booleans, durations stay as written
 * ("30s", "4h"), proposals are checked with src/ike/proposal.h and kept
 * as written, secrets verbatim (0x.../0s... included).  Anything else
 * swanctl.conf may hold (pools, vips, mobike, EAP secrets, a second
 * authentication round ...) is a warning with its place, never dropped
 * without a word.
 */
#ifndef HG_MGMT_SWANCTL_H
#define HG_MGMT_SWANCTL_H

#include <stddef.h>

#include <jansson.h>

/* Deeper sections than swanctl.conf has (connections.C.children.X is
 * four) are an error, not a deep recursion. */
#define HG_SWANCTL_DEPTH_MAX	8

/*
 * Converts len bytes of text (a swanctl.conf; NUL bytes are an error) named
 * name in messages (NULL: "swanctl.conf").
 *
 * Returns the number of warnings (0 or more) and *out, a new reference
 * to {"connections": {...}, "secrets": {...}}; the warnings are in
 * warnings, one a line, each "NAME:LINE:COL: warning: ...", as many as
 * fit (the last line says how many did not).
 *
 * Returns -EINVAL on bad input: *out is NULL and err holds the first
 * fault, "NAME:LINE:COL: reason".  -ENOMEM when memory ran out.
 */
int hg_swanctl_import(const char *name, const char *text, size_t len,
    json_t **out, char *warnings, size_t wlen, char *err, size_t err_len);

#endif /* HG_MGMT_SWANCTL_H */
