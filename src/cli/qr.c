/*
 * src/cli/qr.c: a QR code as terminal text (qr.h).
 */
#include <errno.h>
#include <stdbool.h>

#include <qrencode.h>

#include "qr.h"

#define QUIET_MODULES	4	/* ISO/IEC 18004's quiet zone */

/* Whether module (x, y) of the drawing, quiet zone included, is light. */
static bool
light(const QRcode *q, int x, int y)
{
	x -= QUIET_MODULES;
	y -= QUIET_MODULES;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return true;
	return (q->data[y * q->width + x] & 1) == 0;
}

int
cli_qr_print(const char *text, FILE *out)
{
	/* Indexed by top light | bottom light << 1. */
	static const char *const cell[4] = { " ", "\u2580", "\u2584",
	    "\u2588" };
	QRcode *q;
	int size, rows;

	errno = 0;
	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8,
	    1)) == NULL)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	size = q->width + 2 * QUIET_MODULES;
	rows = size + (size & 1);	/* an odd last row pairs with quiet */
	for (int y = 0; y < rows; y += 2) {
		for (int x = 0; x < size; x++)
			fputs(cell[light(q, x, y) | light(q, x, y + 1) << 1],
			    out);
		fputc('\n', out);
	}
	QRcode_free(q);
	return ferror(out) ? -EIO : 0;
}
