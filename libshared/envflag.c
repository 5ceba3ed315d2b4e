/* envflag.c — on/off settings from the environment (see envflag.h). */
#include "envflag.h"

#include <stdlib.h>
#include <string.h>

int
env_flag(const char *name, int dflt)
{
	const char *s = getenv(name);

	if (s == NULL || *s == '\0')
		return dflt;
	return !(strcmp(s, "0") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0);
}
