/* A scratch directory for the fuzz targets that go through files (price
 * import, registry): created on first use, emptied and removed at exit. */
#ifndef TM_FUZZ_PIPELINE_H
#define TM_FUZZ_PIPELINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static void fuzz_dir_remove(void)
{
    static const char *const names[] = {"fuzz.db",         "fuzz.db-wal", "fuzz.db-shm",
                                        "fuzz.db-journal", "input",       "fuzz.db.lock"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, names[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

/* Writes data to the scratch directory's "input" file; returns its path
 * (static storage), or NULL when the directory cannot be made. */
static const char *fuzz_write_input(const uint8_t *data, size_t size)
{
    static char path[128];
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/tm_fuzz.XXXXXX");
        if (!mkdtemp(fuzz_dir)) {
            fuzz_dir[0] = 0;
            return NULL;
        }
        atexit(fuzz_dir_remove);
    }
    snprintf(path, sizeof path, "%s/input", fuzz_dir);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        return NULL;
    }
    fwrite(data, 1, size, fp);
    fclose(fp);
    return path;
}

#endif
