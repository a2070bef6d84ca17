/* Where the CLI looks for a model given by name only. */
#ifndef MNET_TOOLS_MODEL_PATH_H
#define MNET_TOOLS_MODEL_PATH_H

#include <stddef.h>

/* Finds the default model `name` next to the executable:
 *   <dir of executable>/../models/<name>           (build tree: build/mnet)
 *   <dir of executable>/../share/mnet/models/<name> (installed: bin/mnet)
 * never in the current directory, so the result does not depend on where
 * the command is run. Writes the first existing candidate to path and
 * returns 1; returns 0 with the first candidate in path when none exists,
 * and -1 (path empty) when the executable's location is unknown. */
int model_default_path(const char *name, char *path, size_t path_size);

#endif
