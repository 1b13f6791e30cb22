// The public C header lives in include/csgis.h; this target lets the Swift implementation
// (CSGISCAPI) see exactly the declarations C callers compile against.
#include "csgis.h"
