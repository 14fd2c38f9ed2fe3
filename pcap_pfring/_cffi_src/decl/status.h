/* The status tree (status.c): where it lives, refreshing and sweeping it. */
int pfring_status_refresh(void);
const char *pfring_status_dir(void);
void pfring_status_inline(int on);
