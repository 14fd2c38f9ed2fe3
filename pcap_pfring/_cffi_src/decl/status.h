/* The status tree (status.c): where it lives, refreshing and sweeping it. */
int pfring_status_refresh(void);
const char *pfring_status_dir(void);
