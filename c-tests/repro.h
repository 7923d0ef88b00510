/* What the reproductions (c-tests/repro_*.c, not tests of the suite) share:
 * a policy that can run the program itself again as its job. */
#ifndef SANDLOCK_REPRO_H
#define SANDLOCK_REPRO_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sandlock.h>

/* The system's programs, `self`, the libsandlock.so this process runs
 * (found in its maps) and `extra` (may be NULL) readable. */
static inline sandlock_policy *repro_policy(const char *self, const char *extra) {
    char lib[4096] = "";
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[8192];
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "libsandlock.so") && strchr(line, '/')) {
            snprintf(lib, sizeof lib, "%s", strchr(line, '/'));
            lib[strcspn(lib, "\n")] = '\0';
            break;
        }
    if (maps) fclose(maps);
    sandlock_policy *p = sandlock_policy_new();
    const char *ro[] = {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", self, lib, extra ? extra : "", NULL};
    for (int i = 0; ro[i]; i++)
        if (ro[i][0] && access(ro[i], F_OK) == 0) sandlock_policy_fs_read(p, ro[i]);
    return p;
}

#endif
