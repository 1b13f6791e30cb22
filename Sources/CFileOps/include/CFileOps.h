// File operations the filter's atomic output needs and Swift cannot reach directly:
// Linux unnamed temporary files (O_TMPFILE, a macro Swift does not import) and a
// signal-safe cleanup of a named temporary file on SIGINT, SIGTERM and SIGHUP.
#ifndef CFILEOPS_H
#define CFILEOPS_H

/// An unnamed file in `dir` (O_TMPFILE), mode 0644; -1 where the system or the file system lacks it.
int csgis_open_unnamed(const char *dir);
/// Gives the unnamed file `fd` the name `path` (which must not exist); 0 or -1 with errno.
int csgis_link_unnamed(int fd, const char *path);
/// The named temporary file to remove if a signal ends the process (NULL: none); installs
/// the handlers on first use. The handler removes it, then lets the signal end the process.
void csgis_cleanup_on_signal(const char *path);

#endif
