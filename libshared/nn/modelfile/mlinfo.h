/* mlinfo.h — private to modelfile/: reading the multi-label fields of a
 * model frame (the rest of mlinfo.c is declared in modelio.h). */
#ifndef RADPIPE_NN_MLINFO_H
#define RADPIPE_NN_MLINFO_H

#include "frame_mp.h"
#include "nn/modelfile/modelio.h"

/* Fills ml from model frame o (head.classes outputs): k = 0 when task is
 * absent, "binary" or "multiclass"; 0, or -1 with err when malformed. */
int nn_ml_info_parse(const msgpack_object *o, int classes, struct nn_ml_info *ml, char *err,
                     size_t errlen);

#endif
