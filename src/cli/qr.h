/*
 * src/cli/qr.h: a QR code drawn on a terminal, for phones to scan a
 * clientpack (hexctl overlay clientpack add --qr).  libqrencode makes the
 * code; this draws it as text.
 */
#ifndef CLI_QR_H
#define CLI_QR_H

#include <stdio.h>

#include "../lib/hg.h"

/*
 * Writes text's QR code (8-bit mode, error correction L, the smallest
 * version that holds it) to out, two module rows per line with Unicode
 * half blocks, inside a quiet zone of 4 modules (5 at the bottom, so the
 * rows pair up).  The blocks draw the light modules: on a terminal's
 * usual light text on a dark ground the code reads dark on light, as a
 * scanner expects.  0, -EINVAL when text does not fit a QR code (about
 * 2900 bytes), -ENOMEM, or -EIO when out failed.
 */
int cli_qr_print(const char *text, FILE *out) HG_MUST_CHECK;

#endif /* CLI_QR_H */
