/* envflag.h — on/off settings read from the environment (RADPIPE_FOLD,
 * RADPIPE_CPU_WINOGRAD, RADPIPE_CHECKPOINT_SYNC, ...), one rule for all. */
#ifndef RADPIPE_ENVFLAG_H
#define RADPIPE_ENVFLAG_H

/* The 0/1 setting of environment variable name: dflt when unset or empty,
 * 0 for "0", "no" or "off", else 1. */
int env_flag(const char *name, int dflt);

#endif
