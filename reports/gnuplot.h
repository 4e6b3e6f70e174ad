/*
 * gnuplot.h — draws a plot by running gnuplot as a child process: a script in, SVG text out.
 *
 * gnuplot_svg() starts `gnuplot` (found on PATH), writes the script to its standard input and
 * reads the SVG from its standard output at the same time (poll, so neither side can block the
 * other whatever the sizes). The script sets `terminal svg` and plots once; its data goes inline
 * (`$d << EOD` ... `EOD`), so nothing touches the disk. A gnuplot that cannot be started, exits
 * with a status other than 0 (a script error) or prints no <svg> element is an error carrying
 * the first lines of what it wrote on stderr.
 *
 * The SVG comes back ready to go inside an HTML page: from its <svg> tag on (no XML prolog),
 * without the xmlns attributes (HTML implies them) or gnuplot's "Gnuplot" <title>, and with every
 * id and reference to one (id='x', href='#x', url(#x)) prefixed with `id_prefix`, so several
 * plots in one page never share an id.
 *
 * Ownership: the returned string is malloc'ed; the caller frees it. No state is kept between
 * calls; SIGPIPE is ignored only while writing to gnuplot, then restored.
 */
#ifndef FS_GNUPLOT_H
#define FS_GNUPLOT_H

#include <stddef.h>

#include "fs_error.h"

/* 0 when an executable `gnuplot` is on PATH; else -1 and an error saying what to install. */
int gnuplot_find(fs_error *err);

/* Run `script` (len bytes) through gnuplot; the SVG (NUL-terminated, *svg_len bytes), or NULL
 * and err filled. */
char *gnuplot_svg(const char *script, size_t len, const char *id_prefix, size_t *svg_len, fs_error *err);

#endif
